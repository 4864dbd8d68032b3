// The egress proxy of an agent with an allow-list, on its own: a real HTTP
// proxy on a Unix socket, a real TCP echo target on 127.0.0.1, raw CONNECT
// requests. What reaches the agent's sandbox is tested in test/agent-egress.test.ts.
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { EgressRecordSchema } from '@lumenflow/protocol';
import type { EgressAllowList } from '@lumenflow/protocol';
import { compileAllowList, isPermittedDestination, parseConnectTarget, startEgressProxy } from '../src/egress/index.js';
import type { EgressLookup, EgressProxyOptions } from '../src/egress/index.js';

let work: string;
let echo: Server;
let echoPort: number;
const held = new Set<Socket>();

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lumenflow-egress-'));
  echo = createServer((socket) => {
    held.add(socket);
    socket.on('error', () => undefined).on('close', () => held.delete(socket));
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  echoPort = (echo.address() as AddressInfo).port;
});
afterAll(async () => {
  for (const socket of held) socket.destroy();
  await new Promise((resolve) => echo.close(resolve));
  await rm(work, { recursive: true, force: true });
});

let proxies = 0;
async function withProxy<T>(allow: string[], extra: Partial<EgressProxyOptions>, body: (socketPath: string) => Promise<T>): Promise<{ result: T; record: ReturnType<typeof EgressRecordSchema.parse> }> {
  const socketPath = join(work, `p${proxies++}.sock`);
  const proxy = await startEgressProxy({ socketPath, allow: { allow }, ...extra });
  try {
    const result = await body(socketPath);
    return { result, record: EgressRecordSchema.parse(await proxy.close()) };
  } catch (error) {
    await proxy.close();
    throw error;
  }
}

/** Sends one request head on a new connection; resolves with the status line and the open socket. */
function request(socketPath: string, head: string): Promise<{ status: string; socket: Socket; rest: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let buffered = '';
    socket.on('error', reject);
    socket.on('data', function onData(chunk: Buffer) {
      buffered += chunk.toString('latin1');
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      resolve({ status: buffered.split('\r\n')[0] ?? '', socket, rest: buffered.slice(end + 4) });
    });
    socket.write(head);
  });
}

const connectTo = (socketPath: string, target: string) => request(socketPath, `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);

function roundTrip(socket: Socket, text: string): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    socket.on('data', (chunk: Buffer) => {
      got += chunk.toString();
      if (got.length >= text.length) resolve(got);
    });
    socket.write(text);
  });
}

const closed = (socket: Socket): Promise<void> => new Promise((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));

describe('the allow-list', () => {
  const allowed = compileAllowList({ allow: ['api.example.com:443', '*.models.example:443', '127.0.0.1:8080'] } as EgressAllowList);
  const may = (authority: string): boolean => {
    const target = parseConnectTarget(authority);
    return target !== undefined && allowed(target);
  };

  test('meets every spelling of a listed host, and nothing beside it', () => {
    expect(may('api.example.com:443')).toBe(true);
    expect(may('API.Example.COM:443')).toBe(true);
    expect(may('api.example.com.:443')).toBe(true);
    expect(may('api.example.com:444')).toBe(false);
    expect(may('evilapi.example.com:443')).toBe(false);
    expect(may('api.example.com.evil.test:443')).toBe(false);
  });

  test('a wildcard covers names under it, never the name itself or a look-alike', () => {
    expect(may('eu.models.example:443')).toBe(true);
    expect(may('a.b.models.example:443')).toBe(true);
    expect(may('models.example:443')).toBe(false);
    expect(may('evilmodels.example:443')).toBe(false);
  });

  test('an address is reached only by an entry naming that address, in any of its spellings', () => {
    expect(may('127.0.0.1:8080')).toBe(true);
    expect(may('0x7f.1:8080')).toBe(true);
    expect(may('2130706433:8080')).toBe(true);
    expect(may('[::ffff:127.0.0.1]:8080')).toBe(true);
    expect(may('127.0.0.2:8080')).toBe(false);
    expect(may('[::1]:8080')).toBe(false);
  });

  test('a target that is not host:port is not a target', () => {
    for (const bad of ['api.example.com', 'api.example.com:', ':443', 'api.example.com:0', 'api.example.com:65536', '::1:443', 'a b.example:443', 'user@api.example.com:443', 'api.example.com/x:443']) {
      expect(parseConnectTarget(bad), bad).toBeUndefined();
    }
  });
});

describe('destinations the proxy never connects to', () => {
  test.each([
    ['127.0.0.1', false],
    ['10.1.2.3', false],
    ['172.16.0.1', false],
    ['192.168.1.1', false],
    ['169.254.169.254', false],
    ['100.64.0.1', false],
    ['0.0.0.0', false],
    ['224.0.0.1', false],
    ['::1', false],
    ['fe80::1', false],
    ['fd00::1', false],
    ['::ffff:127.0.0.1', false],
    ['::ffff:10.0.0.1', false],
    ['64:ff9b::a00:1', false],
    ['2002:7f00:1::', false],
    ['8.8.8.8', true],
    ['2606:4700::1111', true],
    ['::ffff:8.8.8.8', true],
  ])('%s: %s', (address, permitted) => {
    expect(isPermittedDestination(address)).toBe(permitted);
  });

  test('the test-only permission lets loopback through, and nothing else', () => {
    expect(isPermittedDestination('127.0.0.1', { permitLoopback: true })).toBe(true);
    expect(isPermittedDestination('::ffff:127.0.0.1', { permitLoopback: true })).toBe(true);
    expect(isPermittedDestination('10.0.0.1', { permitLoopback: true })).toBe(false);
    expect(isPermittedDestination('169.254.169.254', { permitLoopback: true })).toBe(false);
  });
});

describe('the egress proxy', () => {
  test('opens a tunnel to a listed destination and counts its bytes', async () => {
    const { result, record } = await withProxy([`127.0.0.1:${echoPort}`], { testOnlyPermitLoopback: true }, async (socketPath) => {
      const { status, socket } = await connectTo(socketPath, `127.0.0.1:${echoPort}`);
      const echoed = status.startsWith('HTTP/1.1 200') ? await roundTrip(socket, 'ping through the proxy') : '';
      socket.end();
      await closed(socket);
      return { status, echoed };
    });
    expect(result).toEqual({ status: 'HTTP/1.1 200 Connection Established', echoed: 'ping through the proxy' });
    expect(record).toMatchObject({ allowed: 1, denied: 0, failed: 0, omitted: 0 });
    expect(record.destinations).toEqual([{ host: '127.0.0.1', port: echoPort, outcome: 'allowed', requests: 1, bytesOut: 22, bytesIn: 22 }]);
  });

  test('refuses a destination that is not listed, without resolving it', async () => {
    let lookups = 0;
    const lookup: EgressLookup = async () => {
      lookups++;
      return [{ address: '8.8.8.8', family: 4 }];
    };
    const { result, record } = await withProxy(['api.example.com:443'], { lookup }, async (socketPath) => {
      const answers = [];
      for (const target of ['other.example:443', 'api.example.com:80', 'api.example.com:443'.replace('api', 'API.x')]) {
        const { status, socket } = await connectTo(socketPath, target);
        socket.destroy();
        answers.push(status);
      }
      return answers;
    });
    expect(result.every((s) => s.startsWith('HTTP/1.1 403'))).toBe(true);
    expect(lookups).toBe(0);
    expect(record).toMatchObject({ allowed: 0, denied: 3 });
    expect(record.destinations.map((d) => `${d.host}:${d.port} ${d.outcome} ${d.reason}`)).toEqual([
      'api.example.com:80 denied not-listed',
      'api.x.example.com:443 denied not-listed',
      'other.example:443 denied not-listed',
    ]);
  });

  test('a listed name is resolved once, and refused when it has no public address (DNS rebinding goes nowhere)', async () => {
    const answers: Array<Array<{ address: string; family: number }>> = [
      [
        { address: '10.0.0.7', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ],
    ];
    let lookups = 0;
    // A rebinding resolver: the first answer is private, a later one would be another.
    const lookup: EgressLookup = async () => answers[lookups++] ?? [{ address: '127.0.0.1', family: 4 }];
    const { result, record } = await withProxy([`echo.example:${echoPort}`], { lookup }, async (socketPath) => {
      const { status, socket } = await connectTo(socketPath, `echo.example:${echoPort}`);
      socket.destroy();
      return status;
    });
    expect(result).toMatch(/^HTTP\/1.1 403/);
    expect(lookups).toBe(1);
    expect(record.destinations).toEqual([{ host: 'echo.example', port: echoPort, outcome: 'denied', reason: 'non-public-address', requests: 1, bytesOut: 0, bytesIn: 0 }]);
  });

  test('connects to the address it checked, not to a second answer', async () => {
    let lookups = 0;
    const lookup: EgressLookup = async () => (lookups++ === 0 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '8.8.8.8', family: 4 }]);
    const { result } = await withProxy([`echo.example:${echoPort}`], { lookup, testOnlyPermitLoopback: true }, async (socketPath) => {
      const { status, socket } = await connectTo(socketPath, `echo.example:${echoPort}`);
      const echoed = await roundTrip(socket, 'checked address');
      socket.destroy();
      return { status, echoed };
    });
    expect(result.echoed).toBe('checked address');
    expect(lookups).toBe(1);
  });

  test('a name that does not resolve fails, recorded as such', async () => {
    const lookup: EgressLookup = () => Promise.reject(Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' }));
    const { result, record } = await withProxy(['gone.example:443'], { lookup }, async (socketPath) => {
      const { status, socket } = await connectTo(socketPath, 'gone.example:443');
      socket.destroy();
      return status;
    });
    expect(result).toMatch(/^HTTP\/1.1 502/);
    expect(record).toMatchObject({ failed: 1, destinations: [{ host: 'gone.example', outcome: 'failed', reason: 'not-resolved' }] });
  });

  test('plain HTTP and a target that is not host:port are refused and counted without a destination', async () => {
    const { result, record } = await withProxy([`127.0.0.1:${echoPort}`], { testOnlyPermitLoopback: true }, async (socketPath) => {
      const get = await request(socketPath, `GET http://127.0.0.1:${echoPort}/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      get.socket.destroy();
      const bad = await connectTo(socketPath, 'no-port-here');
      bad.socket.destroy();
      return [get.status, bad.status];
    });
    expect(result[0]).toMatch(/^HTTP\/1.1 405/);
    expect(result[1]).toMatch(/^HTTP\/1.1 400/);
    expect(record).toMatchObject({ allowed: 0, denied: 2, omitted: 2, destinations: [] });
  });

  test('bounds the tunnels open at once', async () => {
    const { result, record } = await withProxy([`127.0.0.1:${echoPort}`], { testOnlyPermitLoopback: true, limits: { connections: 1 } }, async (socketPath) => {
      const first = await connectTo(socketPath, `127.0.0.1:${echoPort}`);
      const second = await connectTo(socketPath, `127.0.0.1:${echoPort}`);
      second.socket.destroy();
      first.socket.destroy();
      return [first.status, second.status];
    });
    expect(result[0]).toMatch(/^HTTP\/1.1 200/);
    expect(result[1]).toMatch(/^HTTP\/1.1 503/);
    expect(record).toMatchObject({ allowed: 1, denied: 1 });
    expect(record.destinations.find((d) => d.outcome === 'denied')?.reason).toBe('too-many-connections');
  });

  test('a tunnel still open when the proxy closes is closed, and its bytes are in the record', async () => {
    let socket: Socket | undefined;
    const { record } = await withProxy([`127.0.0.1:${echoPort}`], { testOnlyPermitLoopback: true }, async (socketPath) => {
      const opened = await connectTo(socketPath, `127.0.0.1:${echoPort}`);
      socket = opened.socket;
      await roundTrip(opened.socket, 'still open');
    });
    await closed(socket as Socket);
    expect(record).toMatchObject({ allowed: 1, bytesOut: 10, bytesIn: 10 });
  });

  test('closes a tunnel that stays idle', async () => {
    const { result } = await withProxy([`127.0.0.1:${echoPort}`], { testOnlyPermitLoopback: true, limits: { idleMs: 100 } }, async (socketPath) => {
      const { status, socket } = await connectTo(socketPath, `127.0.0.1:${echoPort}`);
      await closed(socket);
      return status;
    });
    expect(result).toMatch(/^HTTP\/1.1 200/);
  });

  test('itemises at most 64 destinations; the rest are counted', async () => {
    const { record } = await withProxy(['api.example.com:443'], {}, async (socketPath) => {
      for (let i = 0; i < 70; i++) {
        const { socket } = await connectTo(socketPath, `n${i}.example:443`);
        socket.destroy();
      }
    });
    expect(record.denied).toBe(70);
    expect(record.destinations).toHaveLength(64);
    expect(record.omitted).toBe(6);
  });
});
