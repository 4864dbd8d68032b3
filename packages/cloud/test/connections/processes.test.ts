// Faults with real processes: the runtime runs as `lumenflow runtime connect`
// in a child process over loopback; Cloud runs in this process so the test can
// stop and reopen it on the same data directory and port.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadRulesFile } from '@lumenflow/policy';
import { canonicalize, systemClock } from '@lumenflow/protocol';
import type { Ask, CloudToRuntimeMessage, RuntimeToCloudMessage } from '@lumenflow/protocol';
import { createEnrollToken, openCloudStore, openConnectionsServer } from '@lumenflow/cloud';
import type { ConnectionsServer, WorkSummary } from '@lumenflow/cloud';
import { createAsk, createKey, createTempDir, send } from './helpers.js';

const REPO_ROOT = resolve(import.meta.dirname, '../../../..');
const children: ChildProcess[] = [];
const servers: ConnectionsServer[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const server of servers.splice(0)) await server.close();
});

interface Cloud {
  server: ConnectionsServer;
  url: string;
  port: number;
  events: Array<{ event: string; fields: Record<string, unknown> }>;
  messages: RuntimeToCloudMessage[];
}

async function startCloud(dataDir: string, cloudKey: ReturnType<typeof createKey>, port = 0, leaseMs = 2_000): Promise<Cloud> {
  const events: Cloud['events'] = [];
  const server = await openConnectionsServer({ dataDir, signingKey: cloudKey, clock: systemClock, leaseMs, heartbeatIntervalMs: 500, log: (event, fields) => events.push({ event, fields }) });
  servers.push(server);
  const messages: RuntimeToCloudMessage[] = [];
  // Stand in for the chain's Cloud: answer the runtime's handshake, record the rest.
  server.onRecord(({ runtimeId, record }) => {
    if (record.kind !== 'runtime-message') return;
    messages.push(record.message);
    if (record.message.type === 'runtime.enroll') {
      void server.dispatch(runtimeId, { type: 'runtime.enrolled', messageId: `cmsg-${record.recordId}`, inReplyTo: record.message.messageId, runtimeId, keyId: record.message.signature.keyId });
    }
  });
  const listening = await server.listen(port);
  return { server, url: listening.url, port: listening.port, events, messages };
}

function startRuntime(url: string, stateDir: string, token?: string, extra: string[] = []): { child: ChildProcess; connected: Promise<string>; exited: Promise<number | null>; stderr(): string } {
  const args = ['--import', 'tsx', 'scripts/lumenflow.ts', 'runtime', 'connect', '--cloud', url, '--state-dir', stateDir, '--log-level', 'silent', ...extra];
  if (token !== undefined) args.push('--enroll-token', token);
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  const connected = new Promise<string>((resolveLine, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = /runtime (\S+) connected to \S+ \((enrolled|resumed)/.exec(out);
      if (line) resolveLine(`${line[1]} ${line[2]}`);
    });
    child.once('exit', (code) => reject(new Error(`runtime exited ${code} before connecting`)));
  });
  // Awaited by the tests that expect a connection; a refused one must not count as unhandled.
  connected.catch(() => undefined);
  let err = '';
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, connected, exited, stderr: () => err };
}

async function until<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, limitMs = 30_000): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function openSession(cloud: Cloud, runtimeId: string, sessionId: string, ask: Ask = createAsk()): Promise<WorkSummary> {
  const rules = await loadRulesFile(join(REPO_ROOT, 'scripts/demo/rules/cloud-policy.yaml'));
  const message: CloudToRuntimeMessage = {
    type: 'session.open',
    messageId: `cmsg-open-${sessionId}`,
    runId: 'run-1',
    sessionId,
    runtimeId,
    ask,
    cloudRules: { fileName: rules.fileName, document: JSON.parse(canonicalize(rules.document)) as never },
  };
  return cloud.server.dispatch(runtimeId, message);
}

describe('a runtime process', () => {
  it('is failed by Cloud when killed mid-run: the lease expires and the Ask is marked failed, its evidence counted once', async () => {
    const dataDir = await createTempDir('cloud');
    const cloud = await startCloud(dataDir, createKey());
    const { token } = await createEnrollToken({ dataDir, clock: systemClock });
    const runtime = startRuntime(cloud.url, await createTempDir('rt'), token);
    const [runtimeId] = (await runtime.connected).split(' ') as [string];
    const ended = new Promise<WorkSummary>((r) => cloud.server.onWorkEnded(r));
    const work = await openSession(cloud, runtimeId, 'ses-kill');
    await until(() => cloud.messages.find((m) => m.type === 'session.accepted'), 'session.accepted');
    expect((await cloud.server.getWork(work.workId))?.state).toBe('claimed');
    runtime.child.kill('SIGKILL');
    const summary = await ended;
    expect(summary).toMatchObject({ workId: work.workId, state: 'failed', outcome: 'LEASE_EXPIRED' });
    const ids = (await cloud.server.listEvidence(runtimeId)).map((e) => e.record.recordId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(cloud.messages.filter((m) => m.type === 'session.accepted')).toHaveLength(1);
  });

  it('stops the work and exits when it cannot keep its lease', async () => {
    const dataDir = await createTempDir('cloud');
    const cloud = await startCloud(dataDir, createKey(), 0, 1_500);
    const { token } = await createEnrollToken({ dataDir, clock: systemClock });
    const runtime = startRuntime(cloud.url, await createTempDir('rt'), token);
    const [runtimeId] = (await runtime.connected).split(' ') as [string];
    await openSession(cloud, runtimeId, 'ses-lease');
    await until(() => cloud.messages.find((m) => m.type === 'session.accepted'), 'session.accepted');
    // Cloud goes away: no renewal can succeed, and past the lease's end the runtime must stop.
    await cloud.server.close();
    servers.splice(servers.indexOf(cloud.server), 1);
    expect(await runtime.exited).toBe(4);
    expect(runtime.stderr()).toMatch(/^error LEASE_LOST: /m);
  });

  it('stops only the session whose renewal Cloud refused after a take-over, and serves the next attempt', async () => {
    const dataDir = await createTempDir('cloud');
    const cloud = await startCloud(dataDir, createKey(), 0, 1_500);
    const { store } = cloud.server;
    const { token } = await createEnrollToken({ dataDir, clock: systemClock });
    const runtime = startRuntime(cloud.url, await createTempDir('rt'), token);
    const [runtimeId] = (await runtime.connected).split(' ') as [string];
    // cloud-a runs the Ask and opens its session; the runtime claims it and renews the lease.
    await store.submitAsk('ask-one', '{}', 0);
    await store.takeAsk('cloud-a', Date.now(), 1);
    const first = await openSession(cloud, runtimeId, 'ses-old');
    await until(() => cloud.messages.find((m) => m.type === 'session.accepted' && m.sessionId === 'ses-old'), 'session.accepted');
    // cloud-a's Ask lease lapsed: cloud-b takes the Ask over, which ends the old dispatch.
    const taken = await store.takeAsk('cloud-b', Date.now() + 10, 60_000);
    expect(taken?.ended.map((w) => w.workId)).toEqual([first.workId]);
    // The runtime's next renewal is refused: that session ends halted, LEASE_LOST, and is never started.
    const ended = await until(() => cloud.messages.find((m) => m.type === 'session.ended' && m.sessionId === 'ses-old'), 'the old session to end');
    expect(ended).toMatchObject({ outcome: 'halted', code: 'LEASE_LOST' });
    await expect(cloud.server.dispatch(runtimeId, { type: 'session.start', messageId: 'cmsg-start-old', runId: 'run-1', sessionId: 'ses-old' })).rejects.toThrow(/taken over/);
    expect(runtime.child.exitCode).toBeNull();
    // cloud-b's run: the next attempt, claimed and accepted by the same runtime process.
    const next = await openSession(cloud, runtimeId, 'ses-new');
    expect(next.claim).toEqual({ askId: 'ask-one', attempt: 2 });
    await until(() => cloud.messages.find((m) => m.type === 'session.accepted' && m.sessionId === 'ses-new'), 'the new session to be accepted');
    expect((await cloud.server.getWork(next.workId))?.state).toBe('claimed');
    expect(runtime.child.exitCode).toBeNull();
    runtime.child.kill('SIGTERM');
    expect(await runtime.exited).toBe(0);
  });

  it('stops a started session whose renewal Cloud refused, at the step in flight (a test suite that never ends)', { timeout: 150_000 }, async () => {
    // The calc fixture with a test that never finishes: the session is certain to be mid-step when its lease goes.
    const workspace = join(await createTempDir('hang'), 'calc');
    await cp(join(REPO_ROOT, 'scripts/demo/fixtures/calc'), workspace, { recursive: true });
    const hangFile = `hang-lease-${process.pid}.test.js`;
    await writeFile(join(workspace, 'test', hangFile), `import { test } from 'node:test';\ntest('never ends', () => new Promise(() => setInterval(() => {}, 1000)));\n`);
    const dataDir = await createTempDir('cloud');
    const cloud = await startCloud(dataDir, createKey(), 0, 1_500);
    const { store } = cloud.server;
    const { token } = await createEnrollToken({ dataDir, clock: systemClock });
    const runtime = startRuntime(cloud.url, await createTempDir('rt'), token, ['--workspace', workspace, '--repository', 'lumenflow-demo/calc']);
    const [runtimeId] = (await runtime.connected).split(' ') as [string];
    // The demo's happy Ask: its scopes let the scripted agent reach run_tests.
    const ask = JSON.parse(await readFile(join(REPO_ROOT, 'scripts/demo/asks/happy.json'), 'utf8')) as Ask;
    await store.submitAsk(ask.askId, '{}', 0);
    await store.takeAsk('cloud-a', Date.now(), 1);
    await openSession(cloud, runtimeId, 'ses-run', ask);
    await until(() => cloud.messages.find((m) => m.type === 'session.accepted' && m.sessionId === 'ses-run'), 'session.accepted');
    await cloud.server.dispatch(runtimeId, { type: 'session.start', messageId: 'cmsg-start-run', runId: 'run-1', sessionId: 'ses-run' });
    // The scripted agent reaches run_tests, which never returns.
    await until(() => cloud.messages.find((m) => m.type === 'evidence.policy-decision' && m.record.scope.kind === 'shell.exec'), 'the test step', 40_000).catch((e: unknown) => {
      throw new Error(`${String(e)} ${JSON.stringify(cloud.messages.map((m) => [m.type, 'record' in m ? (m.record as { scope?: unknown }).scope : undefined, 'reason' in m ? m.reason : undefined]))}`);
    });
    expect(await store.takeAsk('cloud-b', Date.now() + 10, 60_000)).toMatchObject({ askId: ask.askId, runs: 2 });
    const ended = await until(() => cloud.messages.find((m) => m.type === 'session.ended' && m.sessionId === 'ses-run'), 'the session to end', 60_000);
    expect(ended).toMatchObject({ outcome: 'halted', code: 'LEASE_LOST' });
    // The step in flight was stopped: no process of the hanging suite is left (an orphan is reaped a moment later).
    const hanging = (): string[] => spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).stdout.split('\n').filter((line) => line.includes(hangFile));
    for (let i = 0; i < 50 && hanging().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(hanging()).toEqual([]);
    expect(runtime.child.exitCode).toBeNull();
    runtime.child.kill('SIGTERM');
    expect(await runtime.exited).toBe(0);
  });

  it('resumes with its key after Cloud and the runtime both restart, and flushes its outbox with nothing lost or counted twice', async () => {
    const dataDir = await createTempDir('cloud');
    const cloudKey = createKey();
    const stateDir = await createTempDir('rt');
    let cloud = await startCloud(dataDir, cloudKey, 0, 60_000);
    const port = cloud.port;
    const { token } = await createEnrollToken({ dataDir, clock: systemClock });
    let runtime = startRuntime(cloud.url, stateDir, token);
    const [runtimeId] = (await runtime.connected).split(' ') as [string];
    const work = await openSession(cloud, runtimeId, 'ses-restart');
    await until(() => cloud.messages.find((m) => m.type === 'session.accepted'), 'session.accepted');
    const start = await cloud.server.dispatch(runtimeId, { type: 'session.start', messageId: 'cmsg-start', runId: 'run-1', sessionId: 'ses-restart' });
    await until(() => cloud.events.find((e) => e.event === 'work.delivered' && (e.fields['workIds'] as string[]).includes(start.workId)), 'start delivered');
    // Cloud goes down while the runtime works: its records pile up in the outbox.
    await cloud.server.close();
    servers.splice(servers.indexOf(cloud.server), 1);
    const outboxDir = join(stateDir, 'outbox');
    const pending = await until(async () => {
      const files = (await readdir(outboxDir)).filter((f) => f.endsWith('.json'));
      return files.length >= 2 ? files : undefined;
    }, 'records in the outbox');
    runtime.child.kill('SIGKILL');
    await runtime.exited;
    const stranded = (await readdir(outboxDir)).filter((f) => f.endsWith('.json'));
    expect(stranded.length).toBeGreaterThanOrEqual(pending.length);
    const strandedIds = await Promise.all(stranded.map(async (f) => JSON.parse(await readFile(join(outboxDir, f), 'utf8')).recordId as string));

    cloud = await startCloud(dataDir, cloudKey, port, 60_000);
    // What Cloud had before it stopped is still there.
    expect((await cloud.server.getWork(work.workId))?.state).toBe('claimed');
    expect((await cloud.server.listEvidence(runtimeId)).some((e) => e.record.kind === 'runtime-message' && e.record.message.type === 'session.accepted')).toBe(true);
    runtime = startRuntime(cloud.url, stateDir);
    expect(await runtime.connected).toBe(`${runtimeId} resumed`);
    await until(async () => ((await readdir(outboxDir)).some((f) => f.endsWith('.json')) ? undefined : true), 'outbox flushed');
    const stored = (await cloud.server.listEvidence(runtimeId)).map((e) => e.record.recordId);
    for (const id of strandedIds) expect(stored).toContain(id);
    expect(new Set(stored).size).toBe(stored.length);
    const runtimeJson = JSON.parse(await readFile(join(stateDir, 'runtime.json'), 'utf8'));
    expect(runtimeJson.runtimeId).toBe(runtimeId);
  });

  it('refuses a dispatch whose signed bytes were altered in Cloud\'s store, and records the refusal as signed evidence', async () => {
    const dataDir = await createTempDir('cloud');
    const cloudKey = createKey();
    let cloud = await startCloud(dataDir, cloudKey);
    const port = cloud.port;
    const { token } = await createEnrollToken({ dataDir, clock: systemClock });
    const runtime = startRuntime(cloud.url, await createTempDir('rt'), token);
    const [runtimeId] = (await runtime.connected).split(' ') as [string];
    await cloud.server.close();
    servers.splice(servers.indexOf(cloud.server), 1);
    // While Cloud is down (so the runtime cannot see it yet), a dispatch is queued,
    // and someone with write access to Cloud's disk swaps the Ask inside it.
    const offline = await openConnectionsServer({ dataDir, signingKey: cloudKey, clock: systemClock });
    const work = await openSession({ ...cloud, server: offline }, runtimeId, 'ses-forged');
    await offline.close();
    // The dispatch now lives in the work table of the embedded database: the same swap, in SQL.
    const db = await openCloudStore({ dataDir });
    const [row] = await db.db.query<{ item: string }>('SELECT item FROM work WHERE work_id = $1', [work.workId]);
    const item = JSON.parse(row?.item ?? '{}');
    const payload = Buffer.from(item.payload, 'base64').toString('utf8').replace('fix the test', 'rm -rf the test');
    item.payload = Buffer.from(payload).toString('base64');
    await db.db.query('UPDATE work SET item = $2 WHERE work_id = $1', [work.workId, JSON.stringify(item)]);
    await db.close();
    cloud = await startCloud(dataDir, cloudKey, port);
    const refusal = await until(
      async () => (await cloud.server.listEvidence(runtimeId)).find((e) => e.record.kind === 'dispatch-refusal'),
      'a refusal record',
    );
    expect(refusal.record).toMatchObject({ kind: 'dispatch-refusal', workId: work.workId, code: 'DISPATCH_SIGNATURE_INVALID' });
    expect(cloud.messages.some((m) => m.type === 'session.accepted')).toBe(false);
    expect((await cloud.server.getWork(work.workId))?.state).toBe('queued');
  });
});

describe('cloud serve', () => {
  it('runs as a process, enrolls a runtime, and answers bad requests with codes without falling over', async () => {
    const dataDir = await createTempDir('serve');
    const serve = spawn(process.execPath, ['--import', 'tsx', 'scripts/lumenflow.ts', 'cloud', 'serve', '--data-dir', dataDir, '--port', '0', '--log-level', 'silent'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(serve);
    let out = '';
    let err = '';
    serve.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const url = await new Promise<string>((resolveUrl, reject) => {
      serve.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m?.[1]) resolveUrl(m[1]);
      });
      serve.once('exit', (code) => reject(new Error(`serve exited ${code}: ${err.slice(-500)}`)));
    });
    const tokenRun = spawn(process.execPath, ['--import', 'tsx', 'scripts/lumenflow.ts', 'cloud', 'enroll-token', '--data-dir', dataDir, '--ttl', '1m'], { cwd: REPO_ROOT });
    let token = '';
    tokenRun.stdout.on('data', (c: Buffer) => (token += c.toString()));
    expect(await new Promise((r) => tokenRun.once('exit', r))).toBe(0);
    expect((await send(url, 'POST', '/v1/heartbeat', '{}')).body.error.code).toBe('UNSIGNED');
    expect((await send(url, 'POST', '/v1/enroll', '{"token": [')).body.error.code).toBe('BAD_JSON');
    const runtime = startRuntime(url, await createTempDir('rt'), token.trim());
    expect(await runtime.connected).toMatch(/^rt-\S+ enrolled$/);
    const again = startRuntime(url, await createTempDir('rt'), token.trim());
    const code = await again.exited;
    expect(code).toBe(2);
    expect(again.stderr()).toMatch(/^error TOKEN_USED: /m);
    serve.kill('SIGTERM');
    expect(await new Promise((r) => serve.once('exit', r))).toBe(0);
  });
});
