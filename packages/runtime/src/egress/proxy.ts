import type { IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { EgressAllowList, EgressReason, EgressRecord } from '@lumenflow/protocol';
import { isPermittedDestination } from './address.js';
import { compileAllowList, parseConnectTarget } from './allow-list.js';
import type { EgressTarget } from './allow-list.js';
import { createEgressLedger } from './record.js';
import type { EgressDecision } from './record.js';

/** Bounds on one session's proxy. */
export interface EgressProxyLimits {
  /** Tunnels (and requests being decided) at once; more are refused `too-many-connections`. */
  readonly connections: number;
  /** A tunnel with no bytes either way for this long is closed. */
  readonly idleMs: number;
  /** How long a name may take to resolve, and a connection to be made. */
  readonly connectMs: number;
  /** How long a client may take to send its request's headers. */
  readonly headersMs: number;
}

export const DEFAULT_EGRESS_LIMITS: EgressProxyLimits = Object.freeze({ connections: 32, idleMs: 5 * 60_000, connectMs: 15_000, headersMs: 15_000 });

/** A resolver: every address of a name (the proxy picks the first it may connect to). */
export type EgressLookup = (host: string) => Promise<ReadonlyArray<{ address: string; family: number }>>;

export interface EgressProxyOptions {
  /** The Unix socket to listen on, in a directory only the runtime (and, bound read-only, the agent's sandbox) can reach. */
  socketPath: string;
  allow: EgressAllowList;
  limits?: Partial<EgressProxyLimits>;
  /** The resolver (default: the system's, through `dns.lookup`). */
  lookup?: EgressLookup;
  /** Each decision, as it is made (the runtime's log). */
  onDecision?: (decision: EgressDecision & { address?: string; bytesOut?: number; bytesIn?: number }) => void;
  /**
   * TESTS ONLY: lets a listed destination resolve to a loopback address (a
   * test's target on 127.0.0.1). No rules file or flag can set it.
   */
  testOnlyPermitLoopback?: boolean;
}

export interface EgressProxy {
  /** Stops listening, closes every tunnel, and returns what the proxy did. */
  close(): Promise<EgressRecord>;
}

/**
 * An HTTP proxy on a Unix socket that opens CONNECT tunnels to the
 * destinations of one allow-list and to nothing else: no plain-HTTP
 * forwarding, no upgrade, no destination whose address is not public. A name
 * is resolved once, the address is checked, and the tunnel goes to that
 * address, so an answer that changes between a check and a connection
 * (DNS rebinding) cannot redirect it. Every request is decided, counted and
 * itemised in the session's egress record.
 */
export async function startEgressProxy(opts: EgressProxyOptions): Promise<EgressProxy> {
  const limits: EgressProxyLimits = { ...DEFAULT_EGRESS_LIMITS, ...opts.limits };
  const allowed = compileAllowList(opts.allow);
  // Loaded here, not at start-up: only a session whose agent has an allow-list runs a proxy.
  const [{ createServer }, { lookup: dnsLookup }] = await Promise.all([import('node:http'), import('node:dns/promises')]);
  const lookup = opts.lookup ?? ((host: string) => dnsLookup(host, { all: true, verbatim: true }));
  const ledger = createEgressLedger();
  const sockets = new Set<Duplex>();
  const permit = { permitLoopback: opts.testOnlyPermitLoopback === true };
  const tunnels = new Set<Promise<void>>();
  // Aborted at close: a resolution or connection under way stops waiting.
  const stopping = new AbortController();
  let active = 0;

  const record = (decision: EgressDecision, extra: { address?: string } = {}): ((bytesOut: number, bytesIn: number) => void) => {
    const addBytes = ledger.decide(decision);
    opts.onDecision?.({ ...decision, ...extra });
    return (bytesOut, bytesIn) => {
      addBytes(bytesOut, bytesIn);
      if (decision.outcome === 'allowed') opts.onDecision?.({ ...decision, ...extra, bytesOut, bytesIn });
    };
  };

  const refuse = (socket: Duplex, status: string, text: string): void => {
    const body = `lumenflow egress: ${text}\n`;
    socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  };

  const server = createServer((req, res) => {
    // Plain HTTP is never forwarded: it would be the proxy reading and writing the agent's traffic.
    record({ outcome: 'denied', reason: 'not-connect' });
    res.writeHead(405, { 'Content-Type': 'text/plain', Connection: 'close' }).end('lumenflow egress: only CONNECT to an allowed host:port\n');
    req.resume();
  });
  server.headersTimeout = limits.headersMs;
  server.requestTimeout = limits.headersMs;
  // A hard bound on sockets besides the decided one (those past it are dropped unanswered).
  server.maxConnections = limits.connections * 2;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (_req: IncomingMessage, socket: Duplex) => {
    record({ outcome: 'denied', reason: 'not-connect' });
    refuse(socket, '405 Method Not Allowed', 'only CONNECT to an allowed host:port');
  });
  server.on('clientError', (_error, socket: Duplex) => {
    record({ outcome: 'denied', reason: 'not-connect' });
    socket.destroy();
  });
  server.on('connect', (req: IncomingMessage, client: Duplex, head: Buffer) => {
    client.on('error', () => undefined);
    const target = parseConnectTarget(req.url ?? '');
    if (target === undefined) {
      record({ outcome: 'denied', reason: 'not-connect' });
      return refuse(client, '400 Bad Request', 'the target is not <host>:<port>');
    }
    const where = { host: target.host, port: target.port };
    if (!allowed(target)) {
      record({ outcome: 'denied', reason: 'not-listed', ...where });
      return refuse(client, '403 Forbidden', `${target.host}:${target.port} is not on this agent's allow-list`);
    }
    if (active >= limits.connections) {
      record({ outcome: 'denied', reason: 'too-many-connections', ...where });
      return refuse(client, '503 Service Unavailable', `more than ${limits.connections} connections at once`);
    }
    active++;
    const tunnel = openTunnel(target, client, head).finally(() => {
      active--;
      tunnels.delete(tunnel);
    });
    tunnels.add(tunnel);
  });

  async function openTunnel(target: EgressTarget, client: Duplex, head: Buffer): Promise<void> {
    const where = { host: target.host, port: target.port };
    const fail = (outcome: 'denied' | 'failed', reason: EgressReason, status: string, text: string): void => {
      record({ outcome, reason, ...where });
      refuse(client, status, text);
    };
    let address: string | undefined;
    if (target.family !== 0) {
      address = isPermittedDestination(target.host, permit) ? target.host : undefined;
    } else {
      const answers = await withTimeout(lookup(target.host), limits.connectMs, stopping.signal).catch(() => undefined);
      if (answers === undefined || answers.length === 0) return fail('failed', 'not-resolved', '502 Bad Gateway', `${target.host} did not resolve`);
      address = answers.map((a) => a.address).find((a) => isPermittedDestination(a, permit));
    }
    if (address === undefined) return fail('denied', 'non-public-address', '403 Forbidden', `${target.host} has no public address`);
    if (client.destroyed || stopping.signal.aborted) return fail('failed', 'unreachable', '502 Bad Gateway', 'the client left');
    const upstream = await connectTo(address, target.port, limits.connectMs, stopping.signal);
    if (upstream === undefined || client.destroyed || stopping.signal.aborted) {
      upstream?.destroy();
      return fail('failed', 'unreachable', '502 Bad Gateway', `no connection to ${target.host}:${target.port}`);
    }
    const addBytes = record({ outcome: 'allowed', ...where }, { address });
    sockets.add(upstream);
    await new Promise<void>((resolve) => {
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        client.destroy();
        upstream.destroy();
        sockets.delete(upstream);
        addBytes(upstream.bytesWritten, upstream.bytesRead);
        resolve();
      };
      for (const socket of [client, upstream]) {
        socket.on('error', finish).on('close', finish);
        (socket as Socket).setTimeout?.(limits.idleMs, finish);
      }
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    close: async () => {
      stopping.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      // Every tunnel's bytes are in the ledger before it is read.
      await Promise.allSettled([...tunnels]);
      await closed;
      return ledger.toRecord();
    },
  };
}

function connectTo(address: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port });
    const give = (value: Socket | undefined): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', stop);
      resolve(value);
    };
    const stop = (): void => {
      socket.destroy();
      give(undefined);
    };
    const timer = setTimeout(stop, timeoutMs);
    signal.addEventListener('abort', stop, { once: true });
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      give(socket);
    });
    socket.once('error', () => give(undefined));
  });
}

/** `promise`, or a rejection after `ms` or when `signal` aborts. */
function withTimeout<T>(promise: Promise<T>, ms: number, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const settle = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', stop);
    };
    const stop = (): void => {
      settle();
      reject(new Error('stopped'));
    };
    const timer = setTimeout(stop, ms);
    signal.addEventListener('abort', stop, { once: true });
    promise.then(
      (value) => {
        settle();
        resolve(value);
      },
      (error: unknown) => {
        settle();
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
