// Connections under abuse: what a hostile network client, or an honest one at a bad
// moment, does to `cloud serve`. Each case was reproduced against the server before
// its fix (issue 12).
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createEnrollToken, openConnectionsServer } from '@lumenflow/cloud';
import type { ConnectionsServer, ConnectionsServerOptions } from '@lumenflow/cloud';
import { systemClock } from '@lumenflow/protocol';
import { createKey, createSigner, createTempDir, enrollBody, send, signHeaders } from './helpers.js';

const open: ConnectionsServer[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const s of open.splice(0)) await s.close();
});

async function start(dataDir: string, extra: Partial<ConnectionsServerOptions> = {}) {
  const server = await openConnectionsServer({ dataDir, signingKey: createKey(), clock: systemClock, ...extra });
  open.push(server);
  const { url, port } = await server.listen(0);
  return { server, url, port };
}

async function enrollOne(dataDir: string, url: string) {
  const key = createKey();
  const { token } = await createEnrollToken({ dataDir, clock: systemClock });
  const reply = await send(url, 'POST', '/v1/enroll', JSON.stringify(enrollBody(token, key)));
  expect(reply.status).toBe(201);
  return { key, runtimeId: reply.body.runtimeId as string };
}

describe('keep-alive', () => {
  it('advertises half of the real idle timeout, so a client drops an idle socket before Cloud closes it', async () => {
    const dataDir = await createTempDir('abuse');
    const { url } = await start(dataDir, { keepAliveTimeoutMs: 10_000 });
    const raw = await new Promise<string>((resolve) => {
      const socket = connect(Number(new URL(url).port), '127.0.0.1');
      sockets.push(socket);
      let text = '';
      socket.on('data', (c: Buffer) => {
        text += c.toString('latin1');
        if (text.includes('\r\n\r\n')) resolve(text);
      });
      // A body that reads but does not parse: answered on a socket Cloud keeps.
      socket.write('POST /v1/enroll HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}');
    });
    expect(raw).toMatch(/\r\nkeep-alive: timeout=5\r\n/i);
    const closing = await new Promise<string>((resolve) => {
      const socket = connect(Number(new URL(url).port), '127.0.0.1');
      sockets.push(socket);
      let text = '';
      socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
      socket.on('close', () => resolve(text));
      socket.write('POST /v1/enroll HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 2\r\n\r\n{}');
    });
    expect(closing).toMatch(/\r\nconnection: close\r\n/i);
  });
});

describe('enrollment of one key', () => {
  it('makes exactly one runtime when six enrollments of the same key race with six tokens', async () => {
    const dataDir = await createTempDir('abuse');
    const { server, url } = await start(dataDir);
    const key = createKey();
    const tokens = await Promise.all(Array.from({ length: 6 }, () => createEnrollToken({ dataDir, clock: systemClock })));
    const replies = await Promise.all(tokens.map(({ token }) => send(url, 'POST', '/v1/enroll', JSON.stringify(enrollBody(token, key)))));
    expect(replies.filter((r) => r.status === 201)).toHaveLength(1);
    expect(replies.filter((r) => r.status === 409).map((r) => r.body.error.code)).toEqual(Array(5).fill('KEY_ALREADY_ENROLLED'));
    expect(server.listRuntimes().filter((r) => r.keyId === key.keyId)).toHaveLength(1);
    // A refused enrollment does not burn its token: it still enrolls another key.
    const loser = tokens[replies.findIndex((r) => r.status === 409)] as { token: string };
    expect((await send(url, 'POST', '/v1/enroll', JSON.stringify(enrollBody(loser.token, createKey())))).status).toBe(201);
  });
});

describe('a signed request replayed across a real restart', () => {
  it('is refused by the new process, however quick the restart, also when it was signed ahead of the clock', async () => {
    const dataDir = await createTempDir('abuse');
    const first = await start(dataDir);
    const { key, runtimeId } = await enrollOne(dataDir, first.url);
    const body = new TextEncoder().encode('{}');
    const now = signHeaders({ runtimeId, key, method: 'POST', path: '/v1/heartbeat', body, timestamp: new Date().toISOString() });
    // Ahead of Cloud's clock but inside the skew window: accepted, and still fresh after a restart.
    const ahead = signHeaders({ runtimeId, key, method: 'POST', path: '/v1/heartbeat', body, timestamp: new Date(Date.now() + 20_000).toISOString() });
    expect((await send(first.url, 'POST', '/v1/heartbeat', body, now)).status).toBe(200);
    expect((await send(first.url, 'POST', '/v1/heartbeat', body, ahead)).status).toBe(200);
    await first.server.close();
    open.splice(open.indexOf(first.server), 1);
    const second = await start(dataDir);
    const replayNow = await send(second.url, 'POST', '/v1/heartbeat', body, now);
    const replayAhead = await send(second.url, 'POST', '/v1/heartbeat', body, ahead);
    expect([replayNow.status, replayNow.body.error.code]).toEqual([401, 'STALE_REQUEST']);
    expect([replayAhead.status, replayAhead.body.error.code]).toEqual([401, 'REPLAYED_REQUEST']);
    // A request signed now is served: the restart refuses replays, not the runtime.
    const fresh = createSigner(second.url, runtimeId, key, systemClock);
    expect((await fresh.request('POST', '/v1/heartbeat', {})).status).toBe(200);
  });
});

/** Opens a socket, sends headers for a 1 MiB body and `sent` bytes of it, then stalls. */
function stall(port: number, path: string, headers: Record<string, string>, sent: number): Promise<{ closed: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    sockets.push(socket);
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    const closed = new Promise<string>((r) => socket.once('close', () => r(answer)));
    socket.once('error', () => undefined);
    socket.once('connect', () => {
      const head = [`POST ${path} HTTP/1.1`, 'host: 127.0.0.1', 'content-type: application/json', `content-length: ${1024 * 1024}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
      socket.write(head);
      socket.write(Buffer.alloc(sent, 0x20), () => resolve({ closed }));
    });
    socket.once('error', reject);
  });
}

describe('stalled unauthenticated uploads', () => {
  it('hold bounded memory, are cut off in time, and other runtimes are served meanwhile', async () => {
    const dataDir = await createTempDir('abuse');
    const maxUnverifiedBytes = 8 * 1024 * 1024;
    const { server, url, port } = await start(dataDir, { bodyTimeoutMs: 3_000, maxUnverifiedBytes, maxUnverifiedRequests: 16, maxUnverifiedPerCaller: 4, maxUnverifiedEnrollments: 4 });
    const victim = await enrollOne(dataDir, url);
    const honest = await enrollOne(dataDir, url);
    const rssBefore = process.memoryUsage().rss;
    // 160 uploads of 1 MiB, 512 KiB sent each, then nothing: unsigned, to enrollment, and
    // in the name of an enrolled runtime (its id is not a secret) with headers that look signed.
    const looksSigned = () => signHeaders({ runtimeId: victim.runtimeId, key: victim.key, method: 'POST', path: '/v1/evidence', body: new Uint8Array(0), timestamp: new Date().toISOString() });
    const stalls = await Promise.all(
      Array.from({ length: 160 }, (_, i) =>
        i % 3 === 0 ? stall(port, '/v1/evidence', {}, 512 * 1024) : i % 3 === 1 ? stall(port, '/v1/enroll', {}, 512 * 1024) : stall(port, '/v1/evidence', looksSigned(), 512 * 1024),
      ),
    );
    const held = server.admission();
    expect(held.unverifiedBytes).toBeLessThanOrEqual(maxUnverifiedBytes);
    expect(held.unverifiedRequests).toBeLessThanOrEqual(4);
    // Another runtime is served while the stalls are held.
    const signer = createSigner(url, honest.runtimeId, honest.key, systemClock);
    expect((await signer.request('POST', '/v1/heartbeat', {})).status).toBe(200);
    expect((await signer.request('GET', '/v1/work?after=0&wait=0')).status).toBe(200);
    // Every stalled upload is answered and closed: refused at once, or cut off at the body deadline.
    const answers = await Promise.all(stalls.map((s) => s.closed));
    expect(answers.every((a) => /^HTTP\/1\.1 (401|413|503|408) /.test(a))).toBe(true);
    expect(answers.filter((a) => a.startsWith('HTTP/1.1 408 '))).toHaveLength(4);
    expect(server.admission()).toEqual({ unverifiedRequests: 0, unverifiedBytes: 0 });
    // 160 buffered MiB before the fix; now at most the byte budget plus noise.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024);
  }, 30_000);
});
