import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { IdSchema, NonceSchema } from '@lumenflow/protocol';
import { writeFileAtomic } from '@lumenflow/verifier';
import { readFileIfExists } from './atomic-file.js';
import type { NonceCache } from './request-auth.js';

// Why a journal at all: after a restart Cloud refuses every request signed before
// it started, which covers every request the previous process accepted, except
// one signed ahead of Cloud's clock (allowed up to the skew window). Those nonces,
// and only those, are appended here before the request is acted on, and loaded
// back into the fresh cache at start. In step with the clock, nothing is written.

const EntrySchema = z.strictObject({ runtimeId: IdSchema, nonce: NonceSchema, expiresAtMs: z.number().int() });

export interface NonceJournal {
  /** Appends one accepted nonce; resolves once the write is in the file. */
  record(runtimeId: string, nonce: string, expiresAtMs: number): Promise<void>;
}

/** The journal's path under a data directory. */
export function nonceJournalPath(dataDir: string): string {
  return join(dataDir, 'nonces.jsonl');
}

/**
 * Loads the unexpired nonces of the previous process into `cache`, rewrites the
 * journal with only those, and returns a journal to append to. A line that does
 * not parse is dropped (a torn last line after a crash).
 */
export async function openNonceJournal(dataDir: string, cache: NonceCache, nowMs: number): Promise<NonceJournal> {
  const path = nonceJournalPath(dataDir);
  const live: string[] = [];
  for (const line of ((await readFileIfExists(path)) ?? '').split('\n')) {
    if (line === '') continue;
    let entry;
    try {
      entry = EntrySchema.parse(JSON.parse(line));
    } catch {
      continue;
    }
    if (entry.expiresAtMs < nowMs) continue;
    cache.remember(entry.runtimeId, entry.nonce, entry.expiresAtMs, nowMs);
    live.push(line);
  }
  await writeFileAtomic(path, live.map((l) => `${l}\n`).join(''));
  return {
    record: (runtimeId, nonce, expiresAtMs) => appendFile(path, `${JSON.stringify({ runtimeId, nonce, expiresAtMs })}\n`, { mode: 0o600 }),
  };
}
