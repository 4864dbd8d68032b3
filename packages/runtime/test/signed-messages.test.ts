import { describe, expect, test } from 'vitest';
import { canonicalizeToBytes, createRedactor } from '@lumenflow/protocol';
import type { RuntimeToCloudMessage } from '@lumenflow/protocol';
import { generateSigningKeyPem, parseSigningKeyPem, verifyEd25519 } from '@lumenflow/verifier';
import { createRuntimeSender, createSessionEvidence } from '@lumenflow/runtime';
import { openToolSession } from './support/tool-session.js';

// What the runtime sends Cloud: redacted, then signed with its Ed25519 key
// over the RFC 8785 form without `signature`, which is what Cloud checks.

const key = parseSigningKeyPem(generateSigningKeyPem());
const secret = 'canary-value-0123456789';

const verifies = (message: RuntimeToCloudMessage): boolean => {
  const { signature, ...unsigned } = message;
  return signature.keyId === key.keyId && verifyEd25519(new Uint8Array(Buffer.from(signature.value, 'base64')), canonicalizeToBytes(unsigned), key.publicKey);
};

function collect(): { sent: RuntimeToCloudMessage[]; endpoint: { send: (m: RuntimeToCloudMessage) => Promise<void> } } {
  const sent: RuntimeToCloudMessage[] = [];
  return { sent, endpoint: { send: async (m) => void sent.push(m) } };
}

describe('createRuntimeSender', () => {
  test('redacts, then signs what it sends, so the signature covers the redacted message', async () => {
    const { sent, endpoint } = collect();
    const send = createRuntimeSender({ signingKey: key, endpoint, redactor: createRedactor({ knownValues: [{ value: secret, kind: 'env-secret' }] }) });
    await send({ type: 'session.ended', messageId: 'rmsg_1', runId: 'run-1', sessionId: 'ses_1', outcome: 'failed', reason: `bad token ${secret}`, code: 'X', workspaceUnchanged: true, endedAt: '2026-12-02T10:00:00.000Z' });
    expect(sent).toHaveLength(1);
    const [message] = sent as [RuntimeToCloudMessage];
    expect(JSON.stringify(message)).not.toContain(secret);
    expect(message).toMatchObject({ reason: 'bad token [REDACTED:env-secret]', signature: { keyId: key.keyId } });
    expect(verifies(message)).toBe(true);
    // The signature binds the content: the unredacted reason does not verify under it.
    expect(verifies({ ...message, reason: `bad token ${secret}` } as RuntimeToCloudMessage)).toBe(false);
  });

  test('a per-call redactor (a session\'s secret files) replaces the runtime\'s', async () => {
    const { sent, endpoint } = collect();
    const send = createRuntimeSender({ signingKey: key, endpoint, redactor: createRedactor() });
    const ended = { type: 'session.ended' as const, messageId: 'rmsg_2', runId: 'run-1', sessionId: 'ses_1', outcome: 'failed' as const, reason: `bad token ${secret}`, workspaceUnchanged: true, endedAt: '2026-12-02T10:00:00.000Z' };
    await send(ended);
    await send({ ...ended, messageId: 'rmsg_3' }, createRedactor({ knownValues: [{ value: secret }] }));
    expect(sent.map((m) => (m.type === 'session.ended' ? m.reason.includes(secret) : undefined))).toEqual([true, false]);
    expect(sent.every(verifies)).toBe(true);
  });
});

describe('createSessionEvidence', () => {
  test("a tool call's records become signed messages of the session, in the host's order", async () => {
    const { sent, endpoint } = collect();
    const send = createRuntimeSender({ signingKey: key, endpoint, redactor: createRedactor() });
    let n = 0;
    const evidence = createSessionEvidence({ send, messageId: () => `rmsg_${++n}`, runId: 'run-test', sessionId: 'ses-test' });
    const session = await openToolSession({ evidence });
    try {
      expect(await session.call('read_file', { path: 'src/calc.js' })).toMatchObject({ isError: false });
      expect(await session.call('read_file', { path: '../outside.js' })).toMatchObject({ isError: true });
    } finally {
      await session.dispose();
    }
    expect(sent.map((m) => [m.type, m.messageId, 'runId' in m && m.runId])).toEqual([
      ['evidence.policy-decision', 'rmsg_1', 'run-test'],
      ['evidence.tool-call', 'rmsg_2', 'run-test'],
      ['evidence.policy-decision', 'rmsg_3', 'run-test'],
    ]);
    const [decision, call, denied] = sent;
    expect(decision?.type === 'evidence.policy-decision' && decision.record.effect).toBe('allow');
    expect(call?.type === 'evidence.tool-call' && call.record.decisionId).toBe(decision?.type === 'evidence.policy-decision' ? decision.record.decisionId : 'none');
    expect(denied?.type === 'evidence.policy-decision' && denied.record.effect).toBe('deny');
    expect(sent.every(verifies)).toBe(true);
  });
});
