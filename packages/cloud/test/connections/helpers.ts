import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REQUEST_HEADERS, buildRequestSigningPayload, canonicalizeToBytes, computeSha256Digest, omitUndefined } from '@lumenflow/protocol';
import type { Ask, Clock, CloudToRuntimeMessage, RuntimeToCloudMessage, UnsignedRuntimeMessage } from '@lumenflow/protocol';
import { generateSigningKeyPem, parseSigningKeyPem } from '@lumenflow/verifier';
import type { SigningKey } from '@lumenflow/verifier';

export function createKey(): SigningKey {
  return parseSigningKeyPem(generateSigningKeyPem());
}

export async function createTempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `lf-${prefix}-`));
}

/** A clock tests move by hand. */
export function createManualClock(start = Date.parse('2026-11-23T10:00:00.000Z')): Clock & { advance(ms: number): void; ms(): number } {
  let t = start;
  return { now: () => new Date(t), advance: (ms) => void (t += ms), ms: () => t };
}

export const HOST = { os: 'linux', arch: 'x64', nodeVersion: 'v20.20.0', hostnameHash: `sha256:${'a'.repeat(64)}` };

export interface Reply {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON answers
}

/** A runtime-side HTTP helper written against the wire contract only (Cloud tests never import the runtime). */
export function createSigner(baseUrl: string, runtimeId: string, key: SigningKey, clock: Clock) {
  return {
    async request(method: string, path: string, body?: unknown, tweak: (h: Record<string, string>) => Record<string, string> = (h) => h): Promise<Reply> {
      const bytes = body === undefined ? new Uint8Array(0) : new TextEncoder().encode(typeof body === 'string' ? body : JSON.stringify(body));
      const headers = tweak(signHeaders({ runtimeId, key, method, path, body: bytes, timestamp: clock.now().toISOString() }));
      return send(baseUrl, method, path, bytes.length === 0 && method === 'GET' ? undefined : bytes, headers);
    },
  };
}

export function signHeaders(o: { runtimeId: string; key: SigningKey; method: string; path: string; body: Uint8Array; timestamp: string; nonce?: string }): Record<string, string> {
  const nonce = o.nonce ?? randomBytes(18).toString('base64url');
  const payload = buildRequestSigningPayload({ runtimeId: o.runtimeId, method: o.method, path: o.path, bodySha256: computeSha256Digest(o.body), timestamp: o.timestamp, nonce });
  return {
    [REQUEST_HEADERS.runtime]: o.runtimeId,
    [REQUEST_HEADERS.timestamp]: o.timestamp,
    [REQUEST_HEADERS.nonce]: nonce,
    [REQUEST_HEADERS.signature]: Buffer.from(o.key.sign(payload)).toString('base64'),
  };
}

export async function send(baseUrl: string, method: string, path: string, body: Uint8Array | string | undefined, headers: Record<string, string> = {}): Promise<Reply> {
  const response = await fetch(`${baseUrl}${path}`, { method, headers: { 'content-type': 'application/json', ...headers }, ...omitUndefined({ body }) });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}

export function enrollBody(token: string, key: SigningKey) {
  return { token, publicKeyPem: key.publicKeyPem, labels: ['node', 'git'], version: '0.1.0', host: HOST };
}

export function createAsk(askId = 'ask-one'): Ask {
  return {
    schemaVersion: 1,
    askId,
    operator: { id: 'op.dana', displayName: 'Dana' },
    intent: 'fix the test',
    workspace: { repository: 'lumenflow-demo/calc', baseBranch: 'main' },
    requestedScopes: [{ kind: 'fs.read', path: 'src/calc.js' }],
    runtimeLabels: ['node'],
    createdAt: '2026-11-23T09:00:00.000Z',
  };
}

export function sessionOpen(runtimeId: string, sessionId: string, ask: Ask = createAsk()): CloudToRuntimeMessage {
  return { type: 'session.open', messageId: `cmsg-${sessionId}`, runId: 'run-1', sessionId, runtimeId, ask, cloudRules: { fileName: 'cloud.yaml', document: { rules: [] } } };
}

/** A runtime message signed the way the chain's runtime signs: over its RFC 8785 form without `signature`. */
export function signMessage(message: UnsignedRuntimeMessage, key: SigningKey): RuntimeToCloudMessage {
  const value = Buffer.from(key.sign(canonicalizeToBytes(message))).toString('base64');
  return { ...message, signature: { keyId: key.keyId, value } } as RuntimeToCloudMessage;
}

export function accepted(sessionId: string, messageId: string): UnsignedRuntimeMessage {
  return { type: 'session.accepted', messageId, runId: 'run-1', sessionId, startedAt: '2026-11-23T10:00:00.000Z', sandbox: { kind: 'bubblewrap', version: '0.8.0', profileDigest: `sha256:${'b'.repeat(64)}` }, baselineCommit: 'a'.repeat(40) };
}

export function ended(sessionId: string, messageId: string): UnsignedRuntimeMessage {
  return { type: 'session.ended', messageId, runId: 'run-1', sessionId, outcome: 'completed', reason: 'done', workspaceUnchanged: false, endedAt: '2026-11-23T10:00:01.000Z' };
}
