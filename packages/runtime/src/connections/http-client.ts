import { randomBytes } from 'node:crypto';
import { REQUEST_HEADERS, buildRequestSigningPayload, computeSha256Digest } from '@lumenflow/protocol';
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
   * digest, timestamp and a fresh nonce.
   *
   * @throws {TypeError} from fetch when Cloud cannot be reached.
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

/** A client whose every request is signed by the runtime's enrolled key. */
export function createConnectionsClient(opts: { baseUrl: string; runtimeId: string; signingKey: SigningKey; clock: Clock }): ConnectionsClient {
  const base = opts.baseUrl.replace(/\/+$/, '');
  return {
    request: async (method, path, body, signal) => {
      const bytes = body === undefined ? new Uint8Array(0) : new TextEncoder().encode(JSON.stringify(body));
      const headers = signRequestHeaders({ runtimeId: opts.runtimeId, signingKey: opts.signingKey, method, path, body: bytes, timestamp: opts.clock.now().toISOString() });
      const response = await fetch(`${base}${path}`, {
        method,
        headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: bytes }),
        ...(signal === undefined ? {} : { signal }),
      });
      return { status: response.status, body: await readJson(response) };
    },
  };
}

/** Sends the one unsigned request, enrollment, whose body carries the one-time token. */
export async function postEnrollment(baseUrl: string, body: unknown): Promise<ConnectionsReply> {
  const response = await fetch(`${baseUrl.replace(/\/+$/, '')}/v1/enroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await readJson(response) };
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
}
