import { getEventListeners } from 'node:events';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createCloud } from '@lumenflow/cloud';
import type { Cloud } from '@lumenflow/cloud';
import { loadRulesFile } from '@lumenflow/policy';
import { createInProcessTransport, createSequentialIds, createSteppingClock } from '@lumenflow/protocol';
import type { CloudEndpoint } from '@lumenflow/protocol';
import { HOST, createAsk, createKey, signMessage } from './connections/helpers.js';

const ROOT = resolve(import.meta.dirname, '../../..');
let out: string;
beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'lumenflow-cloud-test-'));
});
afterAll(async () => {
  await rm(out, { recursive: true, force: true });
});

const ask = createAsk('ask-1');

async function createTestCloud(endpoint: CloudEndpoint): Promise<Cloud> {
  return createCloud({
    endpoint,
    clock: createSteppingClock(new Date('2026-11-23T10:00:00.000Z')),
    ids: createSequentialIds(),
    signingKey: createKey(),
    rules: await loadRulesFile(join(ROOT, 'scripts/demo/rules/cloud-policy.yaml')),
  });
}

describe('Cloud trusts only what the enrolled runtime signed', () => {
  test('a session message signed by another key fails the run with MESSAGE_REJECTED and writes no bundle', async () => {
    const transport = createInProcessTransport();
    const cloud = await createTestCloud(transport.cloud);
    const enrolled = createKey();
    const intruder = createKey();
    transport.runtime.onMessage(async (message) => {
      if (message.type !== 'session.open') return;
      // Claims the session, but with a key Cloud never enrolled.
      await transport.runtime.send(
        signMessage(
          { type: 'session.accepted', messageId: 'rmsg_0002', runId: message.runId, sessionId: message.sessionId, startedAt: '2026-11-23T10:00:00.000Z', sandbox: { kind: 'bubblewrap', version: '0.8.0', profileDigest: `sha256:${'b'.repeat(64)}` }, baselineCommit: 'a'.repeat(40) },
          intruder,
        ),
      );
    });
    await transport.runtime.send(
      signMessage({ type: 'runtime.enroll', messageId: 'rmsg_0001', runtimeId: 'rt-1', publicKeyPem: enrolled.publicKeyPem, labels: ['node'], version: '0.1.0', host: HOST }, enrolled),
    );
    await cloud.waitForRuntime(['node']);
    await expect(
      cloud.run({ runId: 'run-forged', ask, approver: async () => ({ approver: 'x', decision: 'approved', reason: 'x' }), outDir: out, replayUrl: 'http://x/runs/run-forged' }),
    ).rejects.toMatchObject({ code: 'MESSAGE_REJECTED' });
    await expect(stat(join(out, 'run-forged'))).rejects.toThrow();
  });

  test('an enrollment not signed by the key it enrolls is ignored, so dispatch finds no runtime', async () => {
    const transport = createInProcessTransport();
    const cloud = await createTestCloud(transport.cloud);
    const claimed = createKey();
    const other = createKey();
    const replies: string[] = [];
    transport.runtime.onMessage((m) => {
      replies.push(m.type);
    });
    await transport.runtime.send(
      signMessage({ type: 'runtime.enroll', messageId: 'rmsg_0001', runtimeId: 'rt-1', publicKeyPem: claimed.publicKeyPem, labels: ['node'], version: '0.1.0', host: HOST }, other),
    );
    for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
    expect(replies).toEqual([]);
    await expect(
      cloud.run({ runId: 'run-none', ask, approver: async () => ({ approver: 'x', decision: 'approved', reason: 'x' }), outDir: out, replayUrl: 'http://x/runs/run-none' }),
    ).rejects.toMatchObject({ code: 'NO_MATCHING_RUNTIME' });
  });
});

describe('waiting for a runtime', () => {
  test('a signal that is already aborted stops the wait at once with ABORTED', async () => {
    const cloud = await createTestCloud(createInProcessTransport().cloud);
    const controller = new AbortController();
    controller.abort();
    // Without the early check this waits out the 5 s bound and reports RUNTIME_TIMEOUT instead.
    await expect(cloud.waitForRuntime(['node'], controller.signal, 5_000)).rejects.toMatchObject({ code: 'ABORTED' });
  });

  test('a wait that ends because a runtime enrolled leaves no listener on the signal', async () => {
    const transport = createInProcessTransport();
    const cloud = await createTestCloud(transport.cloud);
    const controller = new AbortController();
    const key = createKey();
    const waiting = cloud.waitForRuntime(['node'], controller.signal, 5_000);
    await transport.runtime.send(
      signMessage({ type: 'runtime.enroll', messageId: 'rmsg_0001', runtimeId: 'rt-1', publicKeyPem: key.publicKeyPem, labels: ['node'], version: '0.1.0', host: HOST }, key),
    );
    await waiting;
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});
