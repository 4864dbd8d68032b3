// A stopped runtime must not get the next Ask: Connections finds it lost when its
// long-poll connection drops, and Cloud dispatches only to runtimes online now,
// waiting (bounded) while none is.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCloud, createEnrollToken, openConnectionsServer } from '@lumenflow/cloud';
import type { ConnectionsServer } from '@lumenflow/cloud';
import { loadRulesFile } from '@lumenflow/policy';
import { createInProcessTransport, createSequentialIds, createSteppingClock, systemClock } from '@lumenflow/protocol';
import { HOST, createAsk, createKey, createSigner, createTempDir, enrollBody, send, signHeaders, signMessage } from './helpers.js';

const ROOT = resolve(import.meta.dirname, '../../../..');
const open: ConnectionsServer[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

describe('Connections: a runtime whose connection drops', () => {
  it('is lost about a second after its long-poll connection closes, well inside one heartbeat interval, and online when it speaks again', async () => {
    const dataDir = await createTempDir('lost');
    const server = await openConnectionsServer({ dataDir, signingKey: createKey(), clock: systemClock, heartbeatIntervalMs: 5_000, missedHeartbeats: 3 });
    open.push(server);
    const { url } = await server.listen(0);
    const key = createKey();
    const { token } = await createEnrollToken({ dataDir, clock: systemClock });
    const runtimeId = (await send(url, 'POST', '/v1/enroll', JSON.stringify(enrollBody(token, key)))).body.runtimeId as string;
    // The runtime waits on a long-poll, then its process stops: the socket closes.
    const path = '/v1/work?after=0&wait=20000';
    const controller = new AbortController();
    const poll = fetch(`${url}${path}`, { headers: signHeaders({ runtimeId, key, method: 'GET', path, body: new Uint8Array(0), timestamp: new Date().toISOString() }), signal: controller.signal }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    expect(server.isRuntimeOnline(runtimeId)).toBe(true);
    controller.abort();
    await poll;
    const droppedAt = Date.now();
    while (server.isRuntimeOnline(runtimeId) && Date.now() - droppedAt < 4_000) await new Promise((r) => setTimeout(r, 50));
    expect(server.isRuntimeOnline(runtimeId)).toBe(false);
    expect(Date.now() - droppedAt).toBeLessThan(4_000);
    expect(server.listRuntimes()[0]?.status).toBe('lost');
    expect((await createSigner(url, runtimeId, key, systemClock).request('POST', '/v1/heartbeat', {})).status).toBe(200);
    expect(server.isRuntimeOnline(runtimeId)).toBe(true);
  });
});

describe('Cloud: dispatch goes to a runtime online now', () => {
  async function cloudWithTwoRuntimes(online: Set<string>) {
    const transport = createInProcessTransport();
    const cloud = createCloud({
      endpoint: transport.cloud,
      clock: createSteppingClock(new Date('2026-11-23T10:00:00.000Z')),
      ids: createSequentialIds(),
      signingKey: createKey(),
      rules: await loadRulesFile(join(ROOT, 'scripts/demo/rules/cloud-policy.yaml')),
      isRuntimeAvailable: (id) => online.has(id),
    });
    const opened: string[] = [];
    transport.runtime.onMessage((message) => {
      if (message.type === 'session.open') opened.push(message.runtimeId);
    });
    for (const id of ['rt-a', 'rt-b']) {
      const key = createKey();
      await transport.runtime.send(signMessage({ type: 'runtime.enroll', messageId: `rmsg-${id}`, runtimeId: id, publicKeyPem: key.publicKeyPem, labels: ['node'], version: '0.1.0', host: HOST }, key));
    }
    return { cloud, opened };
  }

  it('skips a lost runtime that sorts first, and waits, bounded, while none is online', async () => {
    const online = new Set<string>();
    const { cloud, opened } = await cloudWithTwoRuntimes(online);
    // None online: the wait ends with RUNTIME_TIMEOUT, not with a dispatch to a stopped runtime.
    await expect(cloud.waitForRuntime(['node'], undefined, 600)).rejects.toMatchObject({ code: 'RUNTIME_TIMEOUT' });
    // rt-b comes online while Cloud waits: the wait sees it without a new enrollment.
    const waiting = cloud.waitForRuntime(['node'], undefined, 5_000);
    setTimeout(() => online.add('rt-b'), 300);
    await waiting;
    const controller = new AbortController();
    const out = await mkdtemp(join(tmpdir(), 'lf-lost-'));
    const run = cloud.run({ runId: 'run-lost', ask: createAsk('ask-lost'), approver: async () => ({ approver: 'x', decision: 'approved', reason: 'x' }), outDir: out, replayUrl: 'http://x/runs/run-lost', signal: controller.signal, sessionTimeoutMs: 2_000 });
    run.catch(() => undefined);
    while (opened.length === 0) await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    await run.catch(() => undefined);
    expect(opened).toEqual(['rt-b']);
  });
});
