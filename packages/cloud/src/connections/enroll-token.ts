import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '@lumenflow/protocol';
import type { CloudStore } from '../store/cloud-store.js';

/** Default lifetime of an enrollment token. */
export const DEFAULT_ENROLL_TOKEN_TTL_MS = 10 * 60_000;

/** Hex SHA-256 of a token: all the store keeps, so a copy of the database cannot enroll anything. */
export function hashEnrollToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * Creates a one-time enrollment token in the store and returns it. The token
 * itself is shown once and never stored.
 *
 * @throws {RangeError} when ttlMs is not a positive safe integer.
 */
export async function issueEnrollToken(store: CloudStore, opts: { ttlMs?: number | undefined; clock: Clock }): Promise<{ token: string; expiresAt: string }> {
  const ttlMs = opts.ttlMs ?? DEFAULT_ENROLL_TOKEN_TTL_MS;
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw new RangeError('ttlMs must be a positive integer');
  const token = `lfe_${randomBytes(32).toString('base64url')}`;
  const now = opts.clock.now().getTime();
  // 256 random bits: a collision is not a case to handle, but never overwrite one.
  if (!(await store.insertToken({ tokenHash: hashEnrollToken(token), createdMs: now, expiresMs: now + ttlMs }))) throw new RangeError('token collision');
  return { token, expiresAt: new Date(now + ttlMs).toISOString() };
}
