import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { MAX_ENROLL_BODY_BYTES } from '@lumenflow/protocol';
import { fail } from './routes/route-kit.js';
import type { Reply, Route } from './routes/route-kit.js';

// The HTTP edge of Connections: bounds on sockets, headers, bodies and unverified
// work, then one route per endpoint. What a request may do is decided by the
// routes and the store; this file only decides what Cloud reads and holds.

/** How a route is reached: unsigned (enrollment), signed by a runtime, or with the operator token. */
export type RouteAuth = 'enroll' | 'runtime' | 'operator';

export interface RouteEntry {
  auth: RouteAuth;
  handle: Route;
}

export interface HttpLimits {
  maxBodyBytes: number;
  maxConnections: number;
  maxUnverifiedRequests: number;
  maxUnverifiedPerCaller: number;
  maxUnverifiedEnrollments: number;
  maxUnverifiedBytes: number;
  bodyTimeoutMs: number;
  headersTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

export interface HttpAuth {
  /** Headers only, before the body is read: the caller's admission key, or the refusal. */
  precheck(auth: RouteAuth, req: IncomingMessage): Promise<{ ok: true; caller: string } | { ok: false; status: number; code: string; message: string; fields?: Record<string, unknown> }>;
  /** The body read: the authenticated runtime id ('' for enrollment and operator routes), or the refusal. */
  authenticate(auth: RouteAuth, req: IncomingMessage, body: Uint8Array): Promise<{ ok: true; runtimeId: string } | { ok: false; reply: Reply }>;
}

export interface HttpAdapter {
  listen(port: number): Promise<{ url: string; port: number }>;
  close(): Promise<void>;
  admission(): { unverifiedRequests: number; unverifiedBytes: number };
}

/** Enrollment and operator requests share admission keys that name no runtime (runtime ids start with `rt-`). */
const ENROLL_CALLER = ' enroll';
export const OPERATOR_CALLER = ' operator';
/** Operator bodies (an Ask, an answer) are small documents. */
const MAX_OPERATOR_BODY_BYTES = 256 * 1024;

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

/** Serves `routes` (keyed `METHOD /path`) on 127.0.0.1 with the bounds in `limits`. */
export function createHttpAdapter(routes: Record<string, RouteEntry>, auth: HttpAuth, limits: HttpLimits, log: (event: string, fields: Record<string, unknown>) => void): HttpAdapter {
  let unverifiedRequests = 0;
  let unverifiedBytes = 0;
  const unverifiedByCaller = new Map<string, number>();
  const admit = (caller: string, bytes: number): (() => void) | undefined => {
    const mine = unverifiedByCaller.get(caller) ?? 0;
    const callerCap = caller === ENROLL_CALLER ? limits.maxUnverifiedEnrollments : limits.maxUnverifiedPerCaller;
    if (unverifiedRequests >= limits.maxUnverifiedRequests || mine >= callerCap || unverifiedBytes + bytes > limits.maxUnverifiedBytes) return undefined;
    unverifiedRequests++;
    unverifiedBytes += bytes;
    unverifiedByCaller.set(caller, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      unverifiedRequests--;
      unverifiedBytes -= bytes;
      const left = (unverifiedByCaller.get(caller) ?? 1) - 1;
      if (left === 0) unverifiedByCaller.delete(caller);
      else unverifiedByCaller.set(caller, left);
    };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const routeKey = `${req.method ?? 'GET'} ${url.pathname}`;
    const route = Object.hasOwn(routes, routeKey) ? routes[routeKey] : undefined;
    if (route === undefined) {
      const known = Object.keys(routes).some((k) => k.endsWith(` ${url.pathname}`));
      return reply(res, known ? fail(405, 'METHOD_NOT_ALLOWED', 'method not allowed') : fail(404, 'NOT_FOUND', 'no such endpoint'), true);
    }
    const refuse = (status: number, code: string, message: string, fields: Record<string, unknown> = {}): void => {
      log('request.refused', { code, method: req.method, path: url.pathname, ...fields });
      // Nothing of the body was read: close the socket rather than drain it.
      reply(res, fail(status, code, message), true);
    };
    // Bodies come with a declared length, checked before a byte is buffered.
    if (req.headers['transfer-encoding'] !== undefined) return refuse(411, 'LENGTH_REQUIRED', 'send a content-length; chunked bodies are not accepted');
    const lengthHeader = req.headers['content-length'] ?? '0';
    if (!/^\d{1,10}$/.test(lengthHeader)) return refuse(400, 'SCHEMA_INVALID', 'content-length is not a number');
    const declared = Number(lengthHeader);
    const cap = route.auth === 'enroll' ? MAX_ENROLL_BODY_BYTES : route.auth === 'operator' ? MAX_OPERATOR_BODY_BYTES : limits.maxBodyBytes;
    if (declared > cap) return refuse(413, 'BODY_TOO_LARGE', `bodies are capped at ${cap} bytes`);
    let caller = ENROLL_CALLER;
    if (route.auth !== 'enroll') {
      const pre = await auth.precheck(route.auth, req);
      if (!pre.ok) return refuse(pre.status, pre.code, pre.message, pre.fields ?? {});
      caller = pre.caller;
    }
    let body: Uint8Array | 'timeout' | 'too-large' = new Uint8Array(0);
    if (declared > 0) {
      const release = admit(caller, declared);
      if (release === undefined) {
        res.setHeader('retry-after', '1');
        return refuse(503, 'BUSY', 'too many requests are being read now; retry shortly', { caller });
      }
      try {
        body = await readBody(req, declared, limits.bodyTimeoutMs);
      } finally {
        release();
      }
    }
    if (body === 'timeout') return refuse(408, 'BODY_TIMEOUT', `the body did not arrive within ${limits.bodyTimeoutMs} ms`);
    if (body === 'too-large') return refuse(413, 'BODY_TOO_LARGE', 'the body is longer than its content-length');
    const checked = await auth.authenticate(route.auth, req, body);
    if (!checked.ok) return reply(res, checked.reply);
    reply(res, await route.handle({ runtimeId: checked.runtimeId, body, query: url.searchParams, req, res }));
  };

  let server: Server | undefined;
  return {
    admission: () => ({ unverifiedRequests, unverifiedBytes }),
    listen: async (port) => {
      // Loaded here, not at start-up: an in-process run never listens.
      const { createServer } = await import('node:http');
      return new Promise((resolve, reject) => {
        const s = createServer((req, res) => {
          handle(req, res).catch((error: unknown) => {
            log('request.internal-error', { error: error instanceof Error ? error.name : 'unknown', message: error instanceof Error ? error.message.slice(0, 200) : '' });
            if (!res.headersSent) reply(res, fail(500, 'INTERNAL', 'internal error'));
            else res.destroy();
          });
        });
        s.on('clientError', (_error, socket) => socket.destroy());
        // Set deliberately, not left to Node's defaults: a socket count Cloud can hold, headers
        // that must arrive in time, and an idle keep-alive longer than the client's (see reply()).
        s.maxConnections = limits.maxConnections;
        s.headersTimeout = limits.headersTimeoutMs;
        s.requestTimeout = Math.max(limits.bodyTimeoutMs, limits.headersTimeoutMs) + 5_000;
        s.keepAliveTimeout = limits.keepAliveTimeoutMs;
        s.maxHeadersCount = 64;
        s.once('error', reject);
        // Loopback only: this control plane is not meant to face a network in this cut.
        s.listen(port, '127.0.0.1', () => {
          server = s;
          const address = s.address() as AddressInfo;
          resolve({ url: `http://127.0.0.1:${address.port}`, port: address.port });
        });
      });
    },
    close: async () => {
      if (server === undefined) return;
      const s = server;
      server = undefined;
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
    },
  };
}

function keepAliveHintMs(res: ServerResponse): number {
  const server = (res.socket as (Socket & { server?: Server }) | null)?.server;
  return (server?.keepAliveTimeout ?? 10_000) / 2;
}

/** Reads exactly `length` bytes into one preallocated buffer, or gives up at the deadline. */
function readBody(req: IncomingMessage, length: number, timeoutMs: number): Promise<Uint8Array | 'timeout' | 'too-large'> {
  return new Promise((resolve, reject) => {
    const body = Buffer.allocUnsafe(length);
    let size = 0;
    const done = (value: Uint8Array | 'timeout' | 'too-large'): void => {
      clearTimeout(timer);
      req.removeAllListeners('data');
      resolve(value);
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    req.on('data', (chunk: Buffer) => {
      if (size + chunk.length > length) return done('too-large');
      chunk.copy(body, size);
      size += chunk.length;
    });
    req.on('end', () => done(size === length ? new Uint8Array(body.buffer, body.byteOffset, size) : 'too-large'));
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

function reply(res: ServerResponse, r: Reply, close = false): void {
  if (res.writableEnded || res.destroyed) return;
  const text = JSON.stringify(r.body);
  // The hint is half of the real keep-alive timeout: a client that follows it drops an idle
  // socket seconds before Cloud closes it, so it never writes into a socket being closed.
  // A client that asked to close (or spoke HTTP/1.0) is not told to keep the socket.
  const keepAlive =
    close || !res.shouldKeepAlive ? { connection: 'close' } : { connection: 'keep-alive', 'keep-alive': `timeout=${Math.max(1, Math.floor(keepAliveHintMs(res) / 1000))}` };
  res.writeHead(r.status, { ...JSON_HEADERS, 'content-length': Buffer.byteLength(text), ...keepAlive });
  res.end(text, () => {
    if (close) res.socket?.destroy();
  });
}
