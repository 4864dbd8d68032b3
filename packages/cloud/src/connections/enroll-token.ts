import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import { TimestampSchema } from '@lumenflow/protocol';
import type { Clock } from '@lumenflow/protocol';
import { createFileExclusive } from './atomic-file.js';

/** Default lifetime of an enrollment token. */
export const DEFAULT_ENROLL_TOKEN_TTL_MS = 10 * 60_000;

/** A token as stored: only its hash, so a copy of the data directory cannot enroll anything. */
export const TokenRecordSchema = z.strictObject({
  tokenHash: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: TimestampSchema,
  expiresAt: TimestampSchema,
  usedAt: TimestampSchema.nullable(),
  runtimeId: z.string().nullable(),
});
export type TokenRecord = z.infer<typeof TokenRecordSchema>;

/** Hex SHA-256 of a token, its name on disk. */
export function hashEnrollToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Where the record of a token with this hash lives. */
export function tokenRecordPath(dataDir: string, tokenHash: string): string {
  return join(dataDir, 'tokens', `${tokenHash}.json`);
}

/**
 * Creates a one-time enrollment token under `dataDir` and returns it. The
 * token itself is shown once and never stored. Works while `cloud serve`
 * runs on the same directory: the server reads token records at enrollment.
 *
 * @throws {RangeError} when ttlMs is not a positive safe integer.
 */
export async function createEnrollToken(opts: { dataDir: string; ttlMs?: number; clock: Clock }): Promise<{ token: string; expiresAt: string }> {
  const ttlMs = opts.ttlMs ?? DEFAULT_ENROLL_TOKEN_TTL_MS;
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw new RangeError('ttlMs must be a positive integer');
  const token = `lfe_${randomBytes(32).toString('base64url')}`;
  const now = opts.clock.now();
  const record: TokenRecord = {
    tokenHash: hashEnrollToken(token),
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + ttlMs).toISOString(),
    usedAt: null,
    runtimeId: null,
  };
  // 256 random bits: a collision is not a case to handle, but never overwrite one.
  if (!(await createFileExclusive(tokenRecordPath(opts.dataDir, record.tokenHash), `${JSON.stringify(record)}\n`))) {
    throw new RangeError('token collision');
  }
  return { token, expiresAt: record.expiresAt };
}
