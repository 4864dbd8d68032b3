import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createCloud } from '@lumenflow/cloud';
import { loadRulesFile } from '@lumenflow/policy';
import { canonicalizeToBytes, createInProcessTransport, createSequentialIds, createSteppingClock } from '@lumenflow/protocol';
import type { Ask, RuntimeToCloudMessage, UnsignedRuntimeMessage } from '@lumenflow/protocol';
import { generateSigningKeyPem, parseSigningKeyPem } from '@lumenflow/verifier';
import type { SigningKey } from '@lumenflow/verifier';

const ROOT = resolve(import.meta.dirname, '../../..');
let out: string;
beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'lumenflow-cloud-test-'));
});
afterAll(async () => {
  await rm(out, { recursive: true, force: true });
});

const ask: Ask = {
  schemaVersion: 1,
  askId: 'ask-1',
  operator: { id: 'op.dana', displayName: 'Dana' },
  intent: 'Fix add.',
  workspace: { repository: 'lumenflow-demo/calc', baseBranch: 'main' },
  requestedScopes: [{ kind: 'fs.read', path: 'src/calc.js' }],
  runtimeLabels: ['node'],
  createdAt: '2026-11-23T09:00:00.000Z',
};

function sign(message: UnsignedRuntimeMessage, key: SigningKey): RuntimeToCloudMessage {
  const value = Buffer.from(key.sign(canonicalizeToBytes(message))).toString('base64');
  return { ...message, signature: { keyId: key.keyId, value } } as RuntimeToCloudMessage;
}

const host = { os: 'linux', arch: 'x64', nodeVersion: 'v20.20.2', hostnameHash: `sha256:${'1'.repeat(64)}` };

describe('Cloud trusts only what the enrolled runtime signed', () => {
  test('a session message signed by another key fails the run with MESSAGE_REJECTED and writes no bundle', async () => {
    const transport = createInProcessTransport();
    const cloud = createCloud({
      endpoint: transport.cloud,
      clock: createSteppingClock(new Date('2026-11-23T10:00:00.000Z')),
      ids: createSequentialIds(),
      signingKey: parseSigningKeyPem(generateSigningKeyPem()),
      rules: await loadRulesFile(join(ROOT, 'scripts/demo/rules/cloud-policy.yaml')),
    });
    const enrolled = parseSigningKeyPem(generateSigningKeyPem());
    const intruder = parseSigningKeyPem(generateSigningKeyPem());
    transport.runtime.onMessage(async (message) => {
      if (message.type !== 'session.open') return;
      // Claims the session, but with a key Cloud never enrolled.
      await transport.runtime.send(
        sign(
          { type: 'session.accepted', messageId: 'rmsg_0002', runId: message.runId, sessionId: message.sessionId, startedAt: '2026-11-23T10:00:00.000Z', baselineCommit: 'a'.repeat(40) },
          intruder,
        ),
      );
    });
    await transport.runtime.send(
      sign({ type: 'runtime.enroll', messageId: 'rmsg_0001', runtimeId: 'rt-1', publicKeyPem: enrolled.publicKeyPem, labels: ['node'], version: '0.1.0', host }, enrolled),
    );
    await cloud.waitForRuntime(['node']);
    await expect(
      cloud.run({ runId: 'run-forged', ask, approver: async () => ({ approver: 'x', decision: 'approved', reason: 'x' }), outDir: out, replayUrl: 'http://x/runs/run-forged' }),
    ).rejects.toMatchObject({ code: 'MESSAGE_REJECTED' });
    await expect(stat(join(out, 'run-forged'))).rejects.toThrow();
  });

  test('an enrollment not signed by the key it enrolls is ignored, so dispatch finds no runtime', async () => {
    const transport = createInProcessTransport();
    const cloud = createCloud({
      endpoint: transport.cloud,
      clock: createSteppingClock(new Date('2026-11-23T10:00:00.000Z')),
      ids: createSequentialIds(),
      signingKey: parseSigningKeyPem(generateSigningKeyPem()),
      rules: await loadRulesFile(join(ROOT, 'scripts/demo/rules/cloud-policy.yaml')),
    });
    const claimed = parseSigningKeyPem(generateSigningKeyPem());
    const other = parseSigningKeyPem(generateSigningKeyPem());
    const replies: string[] = [];
    transport.runtime.onMessage((m) => {
      replies.push(m.type);
    });
    await transport.runtime.send(
      sign({ type: 'runtime.enroll', messageId: 'rmsg_0001', runtimeId: 'rt-1', publicKeyPem: claimed.publicKeyPem, labels: ['node'], version: '0.1.0', host }, other),
    );
    for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
    expect(replies).toEqual([]);
    await expect(
      cloud.run({ runId: 'run-none', ask, approver: async () => ({ approver: 'x', decision: 'approved', reason: 'x' }), outDir: out, replayUrl: 'http://x/runs/run-none' }),
    ).rejects.toMatchObject({ code: 'NO_MATCHING_RUNTIME' });
  });
});
