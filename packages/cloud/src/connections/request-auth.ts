import { NonceSchema, REQUEST_HEADERS, TimestampSchema, buildRequestSigningPayload, computeSha256Digest } from '@lumenflow/protocol';
import { verifyEd25519 } from '@lumenflow/verifier';

/** Why a runtime request was refused. */
export type RequestAuthFailure = 'UNSIGNED' | 'UNKNOWN_RUNTIME' | 'STALE_REQUEST' | 'BAD_SIGNATURE' | 'REPLAYED_REQUEST' | 'NONCE_CACHE_FULL';

export interface SignedRequest {
  method: string;
  /** Path and query exactly as on the request line. */
  path: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: Uint8Array;
}

export interface RequestAuthContext {
  /** The enrolled public key of a runtime, or undefined when none is enrolled under that id. */
  lookupKey(runtimeId: string): Uint8Array | undefined;
  nonces: NonceCache;
  nowMs: number;
  skewMs: number;
  /**
   * Requests signed before this instant are refused. Cloud passes its own start:
   * the in-memory nonce cache is new, so anything signed before it might have been
   * accepted by the previous process. (Requests signed ahead of Cloud's clock are
   * the one gap; Cloud writes their nonces to the store's nonce table, as it writes
   * every nonce when the database is shared by several Clouds.)
   */
  notBeforeMs: number;
}

export type RequestAuthResult = { ok: true; runtimeId: string; nonce: string; timestampMs: number } | { ok: false; code: RequestAuthFailure; runtimeId?: string };

/**
 * The checks that need no body: the four headers well-formed, a known runtime,
 * a timestamp inside the window. Run before a byte of the body is read, so an
 * unsigned or unknown caller is refused without Cloud buffering anything.
 */
export function precheckRequest(
  headers: SignedRequest['headers'],
  ctx: Omit<RequestAuthContext, 'nonces'>,
): { ok: true; runtimeId: string; timestampMs: number } | { ok: false; code: RequestAuthFailure; runtimeId?: string } {
  const runtimeId = readHeader(headers, REQUEST_HEADERS.runtime);
  const timestamp = readHeader(headers, REQUEST_HEADERS.timestamp);
  const nonce = readHeader(headers, REQUEST_HEADERS.nonce);
  const signature = readHeader(headers, REQUEST_HEADERS.signature);
  if (runtimeId === undefined || timestamp === undefined || nonce === undefined || signature === undefined) return { ok: false, code: 'UNSIGNED' };
  if (!NonceSchema.safeParse(nonce).success || !/^[A-Za-z0-9+/]{86}==$/.test(signature)) return { ok: false, code: 'UNSIGNED', runtimeId };
  if (ctx.lookupKey(runtimeId) === undefined) return { ok: false, code: 'UNKNOWN_RUNTIME', runtimeId };
  const at = TimestampSchema.safeParse(timestamp).success ? Date.parse(timestamp) : Number.NaN;
  if (!Number.isFinite(at) || Math.abs(ctx.nowMs - at) > ctx.skewMs || at < ctx.notBeforeMs) return { ok: false, code: 'STALE_REQUEST', runtimeId };
  return { ok: true, runtimeId, timestampMs: at };
}

/**
 * Checks one signed runtime request: all four headers, a known runtime, a
 * timestamp inside the skew window, an Ed25519 signature (RFC 8032, strict)
 * over method, path, body digest, timestamp and nonce, and a nonce not seen in the window.
 * The nonce is remembered only after the signature holds, so nobody can fill another runtime's cache.
 */
export function authenticateRequest(request: SignedRequest, ctx: RequestAuthContext): RequestAuthResult {
  const pre = precheckRequest(request.headers, ctx);
  if (!pre.ok) return pre;
  const { runtimeId, timestampMs: at } = pre;
  const timestamp = readHeader(request.headers, REQUEST_HEADERS.timestamp) as string;
  const nonce = readHeader(request.headers, REQUEST_HEADERS.nonce) as string;
  const signature = readHeader(request.headers, REQUEST_HEADERS.signature) as string;
  const publicKey = ctx.lookupKey(runtimeId) as Uint8Array;
  const payload = buildRequestSigningPayload({
    runtimeId,
    method: request.method.toUpperCase(),
    path: request.path,
    bodySha256: computeSha256Digest(request.body),
    timestamp,
    nonce,
  });
  if (!verifyEd25519(new Uint8Array(Buffer.from(signature, 'base64')), payload, publicKey)) return { ok: false, code: 'BAD_SIGNATURE', runtimeId };
  const remembered = ctx.nonces.remember(runtimeId, nonce, at + ctx.skewMs, ctx.nowMs);
  if (remembered !== 'new') return { ok: false, code: remembered === 'seen' ? 'REPLAYED_REQUEST' : 'NONCE_CACHE_FULL', runtimeId };
  return { ok: true, runtimeId, nonce, timestampMs: at };
}

/** Nonces per runtime, each kept until its request would be stale anyway. */
export interface NonceCache {
  /** 'new' and remembers it, 'seen' when already there, 'full' when the runtime has too many live nonces. */
  remember(runtimeId: string, nonce: string, expiresAtMs: number, nowMs: number): 'new' | 'seen' | 'full';
  size(): number;
}

/** A bounded nonce cache; `maxPerRuntime` caps what one runtime can make Cloud hold. */
export function createNonceCache(maxPerRuntime = 20_000): NonceCache {
  const byRuntime = new Map<string, Map<string, number>>();
  let total = 0;
  const prune = (nonces: Map<string, number>, nowMs: number): void => {
    // Insertion order is close to expiry order; stop at the first live one.
    for (const [nonce, expiresAt] of nonces) {
      if (expiresAt >= nowMs) break;
      nonces.delete(nonce);
      total--;
    }
  };
  return {
    remember: (runtimeId, nonce, expiresAtMs, nowMs) => {
      let nonces = byRuntime.get(runtimeId);
      if (nonces === undefined) {
        nonces = new Map();
        byRuntime.set(runtimeId, nonces);
      }
      prune(nonces, nowMs);
      if (nonces.has(nonce)) return 'seen';
      if (nonces.size >= maxPerRuntime) return 'full';
      nonces.set(nonce, expiresAtMs);
      total++;
      return 'new';
    },
    size: () => total,
  };
}

function readHeader(headers: Readonly<Record<string, string | string[] | undefined>>, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}
