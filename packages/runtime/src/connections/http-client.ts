import { randomBytes } from 'node:crypto';
import { REQUEST_HEADERS, buildRequestSigningPayload, computeSha256Digest, omitUndefined } from '@lumenflow/protocol';
import type { Clock } from '@lumenflow/protocol';
import type { SigningKey } from '@lumenflow/verifier';

/** An answer from Cloud: the status and the parsed JSON body (undefined when it was not JSON). */
export interface ConnectionsReply {
  status: number;
  body: unknown;
}

export interface ConnectionsClient {
  /**
   * Sends one request signed with the runtime's key over method, path, body
   * digest, timestamp and a fresh nonce. A transport failure, 503 BUSY, 408 and
   * 401 STALE_REQUEST are retried with a fresh signature, under {@link RetryPolicy}.
   *
   * @throws {TypeError} from fetch when Cloud cannot be reached within the retries.
   */
  request(method: 'GET' | 'POST', path: string, body?: unknown, signal?: AbortSignal): Promise<ConnectionsReply>;
}

/** Builds the four signature headers for one request. */
export function signRequestHeaders(opts: {
  runtimeId: string;
  signingKey: SigningKey;
  method: string;
  path: string;
  body: Uint8Array;
  timestamp: string;
  nonce?: string;
}): Record<string, string> {
  const nonce = opts.nonce ?? randomBytes(18).toString('base64url');
  const payload = buildRequestSigningPayload({
    runtimeId: opts.runtimeId,
    method: opts.method.toUpperCase(),
    path: opts.path,
    bodySha256: computeSha256Digest(opts.body),
    timestamp: opts.timestamp,
    nonce,
  });
  return {
    [REQUEST_HEADERS.runtime]: opts.runtimeId,
    [REQUEST_HEADERS.timestamp]: opts.timestamp,
    [REQUEST_HEADERS.nonce]: nonce,
    [REQUEST_HEADERS.signature]: Buffer.from(opts.signingKey.sign(payload)).toString('base64'),
  };
}

/**
 * How often and how patiently a request is tried again. Exponential backoff with
 * full jitter: before try n+1 the client sleeps a random time in
 * [0, min(maxDelayMs, baseDelayMs * 2^(n-1))], so that runtimes cut off together
 * do not come back together.
 */
export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** In [0, 1); Math.random by default. */
  random?: () => number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({ attempts: 6, baseDelayMs: 50, maxDelayMs: 2_000 });

/**
 * A client whose every request is signed by the runtime's enrolled key.
 *
 * Every signed request is safe to send again, which is why all of them are
 * retried: evidence is deduplicated by record id, a claim of the same
 * (askId, attempt) answers with the lease already held, a lease renewal and a
 * heartbeat only move times forward, and a work poll reads. The classic failure
 * this covers is the keep-alive race: the client reuses an idle socket just as
 * Cloud closes it, and the request dies with ECONNRESET or "other side closed"
 * whether or not Cloud acted on it.
 */
export function createConnectionsClient(opts: { baseUrl: string; runtimeId: string; signingKey: SigningKey; clock: Clock; retry?: RetryPolicy }): ConnectionsClient {
  const base = opts.baseUrl.replace(/\/+$/, '');
  const policy = opts.retry ?? DEFAULT_RETRY_POLICY;
  return {
    request: async (method, path, body, signal) => {
      const bytes = body === undefined ? new Uint8Array(0) : new TextEncoder().encode(JSON.stringify(body));
      return withRetries(policy, signal, 'any-failure', async () => {
        // Signed afresh on every try: a new timestamp and nonce, never a replay of the last one.
        const headers = signRequestHeaders({ runtimeId: opts.runtimeId, signingKey: opts.signingKey, method, path, body: bytes, timestamp: opts.clock.now().toISOString() });
        const response = await fetch(`${base}${path}`, {
          method,
          headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(body === undefined ? {} : { body: bytes }),
          ...omitUndefined({ signal }),
        });
        return { status: response.status, body: await readJson(response) };
      });
    },
  };
}

/**
 * Sends the one unsigned request, enrollment, whose body carries the one-time
 * token. It is not idempotent (a second try after a lost answer finds the token
 * used), so it is retried only when Cloud surely did not act on it: the
 * connection was refused, or Cloud answered 503 BUSY before reading the body.
 */
export async function postEnrollment(baseUrl: string, body: unknown, retry: RetryPolicy = DEFAULT_RETRY_POLICY): Promise<ConnectionsReply> {
  return withRetries(retry, undefined, 'unsent-only', async () => {
    const response = await fetch(`${baseUrl.replace(/\/+$/, '')}/v1/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: await readJson(response) };
  });
}

/** Answers worth another try: Cloud was busy, the body was cut off, or the signature went stale while waiting. */
function isRetryableReply(reply: ConnectionsReply, mode: 'any-failure' | 'unsent-only'): boolean {
  const code = (reply.body as { error?: { code?: unknown } } | undefined)?.error?.code;
  if (reply.status === 503 && code === 'BUSY') return true;
  if (mode === 'unsent-only') return false;
  return reply.status === 408 || (reply.status === 401 && code === 'STALE_REQUEST');
}

function isRetryableError(error: unknown, mode: 'any-failure' | 'unsent-only'): boolean {
  if (!(error instanceof TypeError)) return false;
  if (mode === 'any-failure') return true;
  const cause = (error as { cause?: { code?: unknown } }).cause;
  return cause?.code === 'ECONNREFUSED';
}

async function withRetries(policy: RetryPolicy, signal: AbortSignal | undefined, mode: 'any-failure' | 'unsent-only', send: () => Promise<ConnectionsReply>): Promise<ConnectionsReply> {
  if (!Number.isSafeInteger(policy.attempts) || policy.attempts < 1) throw new RangeError('retry attempts must be a positive integer');
  const random = policy.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    let outcome: { reply: ConnectionsReply } | { error: unknown };
    try {
      outcome = { reply: await send() };
    } catch (error) {
      outcome = { error };
    }
    const last = attempt >= policy.attempts || signal?.aborted === true;
    if ('reply' in outcome) {
      if (last || !isRetryableReply(outcome.reply, mode)) return outcome.reply;
    } else if (last || !isRetryableError(outcome.error, mode)) {
      throw outcome.error;
    }
    const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
    await sleep(Math.floor(random() * ceiling), signal);
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
}
