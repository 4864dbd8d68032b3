// The keep-alive race, reproduced: a server that answers one request on a
// kept-alive socket and then closes that socket just as the client reuses it
// (what Node's server does when its keepAliveTimeout fires at that moment).
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '@lumenflow/protocol';
import { createConnectionsClient, postEnrollment } from '@lumenflow/runtime';
import { generateSigningKeyPem, parseSigningKeyPem } from '@lumenflow/verifier';

const servers: Server[] = [];
const sockets = new Set<Socket>();
afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

/**
 * A minimal HTTP/1.1 server. `onRequest(n)` picks what happens to the n-th
 * request: an answer on the kept-alive socket, or a reset of that socket.
 */
async function rawServer(onRequest: (n: number) => { status: number; body: string } | 'reset'): Promise<{ url: string; connections: () => number; requests: () => number }> {
  let connections = 0;
  let requests = 0;
  const server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    let buffer = '';
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = Number(/content-length: (\d+)/i.exec(buffer.slice(0, end))?.[1] ?? '0');
        if (buffer.length < end + 4 + length) return;
        buffer = buffer.slice(end + 4 + length);
        requests++;
        const what = onRequest(requests);
        if (what === 'reset') {
          socket.resetAndDestroy();
          return;
        }
        socket.write(`HTTP/1.1 ${what.status} X\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(what.body)}\r\nconnection: keep-alive\r\nkeep-alive: timeout=60\r\n\r\n${what.body}`);
      }
    });
    socket.on('error', () => undefined);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, connections: () => connections, requests: () => requests };
}

const key = parseSigningKeyPem(generateSigningKeyPem());
const quick = { attempts: 4, baseDelayMs: 5, maxDelayMs: 20 };

describe('the Connections client under the keep-alive race', () => {
  it('sends an evidence post again on a fresh socket when the reused one is reset, and again after that', async () => {
    // The second request finds its reused socket closed under it; the third, on a fresh
    // socket, is cut too (Cloud under load). fetch's own single retry of a reused socket does not cover that.
    const server = await rawServer((n) => (n === 2 || n === 3 ? 'reset' : { status: 200, body: '{"acked":["r1"],"rejected":[]}' }));
    const client = createConnectionsClient({ baseUrl: server.url, runtimeId: 'rt-one', signingKey: key, clock: systemClock, retry: quick });
    expect((await client.request('POST', '/v1/heartbeat', {})).status).toBe(200);
    const reply = await client.request('POST', '/v1/evidence', { records: [] });
    expect(reply).toEqual({ status: 200, body: { acked: ['r1'], rejected: [] } });
    expect(server.requests()).toBe(4);
    expect(server.connections()).toBe(3);
  });

  it('gives up after the bounded number of tries and reports the failure', async () => {
    const server = await rawServer(() => 'reset');
    const client = createConnectionsClient({ baseUrl: server.url, runtimeId: 'rt-one', signingKey: key, clock: systemClock, retry: quick });
    await expect(client.request('POST', '/v1/heartbeat', {})).rejects.toBeInstanceOf(TypeError);
    expect(server.requests()).toBe(4);
  });

  it('retries 503 BUSY and a stale signature, each time signed afresh, and not a refusal', async () => {
    const seen: string[] = [];
    const answers = [
      { status: 503, body: '{"error":{"code":"BUSY","message":"busy"}}' },
      { status: 401, body: '{"error":{"code":"STALE_REQUEST","message":"stale"}}' },
      { status: 200, body: '{}' },
      { status: 401, body: '{"error":{"code":"BAD_SIGNATURE","message":"no"}}' },
    ];
    const server = await rawServer((n) => answers[n - 1] ?? 'reset');
    const client = createConnectionsClient({ baseUrl: server.url, runtimeId: 'rt-one', signingKey: key, clock: systemClock, retry: quick });
    const original = globalThis.fetch;
    globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      seen.push(String((init?.headers as Record<string, string>)['x-lumenflow-nonce']));
      return original(input, init);
    }) as typeof fetch;
    try {
      expect((await client.request('POST', '/v1/claims', {})).status).toBe(200);
      expect((await client.request('POST', '/v1/claims', {})).status).toBe(401);
    } finally {
      globalThis.fetch = original;
    }
    expect(server.requests()).toBe(4);
    expect(new Set(seen).size).toBe(4);
  });

  it('never sends an enrollment twice once it may have been acted on', async () => {
    const server = await rawServer(() => 'reset');
    await expect(postEnrollment(server.url, { token: 'x' }, quick)).rejects.toBeInstanceOf(TypeError);
    expect(server.requests()).toBe(1);
  });
});
