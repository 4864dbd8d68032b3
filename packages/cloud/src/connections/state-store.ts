import { join } from 'node:path';
import { z } from 'zod';
import {
  ClaimRefSchema,
  EvidenceRecordSchema,
  IdSchema,
  RuntimeHostSchema,
  Sha256DigestSchema,
  TimestampSchema,
  WorkItemSchema,
  parseStrictJson,
} from '@lumenflow/protocol';
import type { EvidenceRecord } from '@lumenflow/protocol';
import { writeFileAtomic } from '@lumenflow/verifier';
import { listJsonFiles, readFileIfExists } from './atomic-file.js';

// Cloud's Connections state, one small JSON file per thing, each replaced
// atomically. A file that does not parse is skipped and reported rather than
// trusted: a runtime whose record is unreadable cannot authenticate, a work
// item that is unreadable is not dispatched, so damage fails closed.

export const RuntimeRecordSchema = z.strictObject({
  runtimeId: IdSchema,
  keyId: Sha256DigestSchema,
  publicKeyPem: z.string().min(1),
  labels: z.array(z.string()),
  version: z.string().min(1),
  host: RuntimeHostSchema,
  enrolledAt: TimestampSchema,
});

export const WorkStateSchema = z.enum(['queued', 'claimed', 'completed', 'failed', 'control']);

export const WorkRecordSchema = z.strictObject({
  workId: IdSchema,
  runtimeId: IdSchema,
  seq: z.number().int().min(1),
  claim: ClaimRefSchema.nullable(),
  /** The session a dispatch opens, so its end can close the claim. */
  sessionId: IdSchema.nullable(),
  item: WorkItemSchema,
  createdAt: TimestampSchema,
  state: WorkStateSchema,
  lease: z.strictObject({ leaseId: IdSchema, claimedAt: TimestampSchema, expiresAt: TimestampSchema }).nullable(),
  endedAt: TimestampSchema.nullable(),
  /** LEASE_EXPIRED, or the session's end outcome. */
  outcome: z.string().nullable(),
});

/** One evidence file: the records of one accepted batch, written with one fsync (group commit). */
export const EvidenceBatchFileSchema = z.strictObject({ runtimeId: IdSchema, receivedAt: TimestampSchema, records: z.array(EvidenceRecordSchema).min(1) });

export type RuntimeRecord = z.infer<typeof RuntimeRecordSchema>;
export type WorkRecord = z.infer<typeof WorkRecordSchema>;
export type WorkState = z.infer<typeof WorkStateSchema>;
export interface StoredEvidence {
  runtimeId: string;
  receivedAt: string;
  record: EvidenceRecord;
}

/** Everything loaded at start, and the files that were skipped. */
export interface LoadedState {
  runtimes: RuntimeRecord[];
  work: WorkRecord[];
  evidence: StoredEvidence[];
  skipped: string[];
}

/** The directory layout under the data directory. */
export function statePaths(dataDir: string): {
  runtime(id: string): string;
  work(id: string): string;
  evidenceBatch(runtimeId: string, name: string): string;
  runtimesDir: string;
  workDir: string;
  evidenceDir: string;
} {
  return {
    runtimesDir: join(dataDir, 'runtimes'),
    workDir: join(dataDir, 'work'),
    evidenceDir: join(dataDir, 'evidence'),
    runtime: (id) => join(dataDir, 'runtimes', `${id}.json`),
    work: (id) => join(dataDir, 'work', `${id}.json`),
    evidenceBatch: (runtimeId, name) => join(dataDir, 'evidence', runtimeId, `${name}.json`),
  };
}

/** Reads every state file under `dataDir`. */
export async function loadState(dataDir: string): Promise<LoadedState> {
  const paths = statePaths(dataDir);
  const skipped: string[] = [];
  const readAll = async <T>(dir: string, schema: z.ZodType<T>): Promise<T[]> => {
    const out: T[] = [];
    for (const name of await listJsonFiles(dir)) {
      const path = join(dir, name);
      const parsed = parseStateFile(await readFileIfExists(path), schema);
      if (parsed === undefined) skipped.push(path);
      else out.push(parsed);
    }
    return out;
  };
  const runtimes = await readAll(paths.runtimesDir, RuntimeRecordSchema);
  const work = await readAll(paths.workDir, WorkRecordSchema);
  const evidence: StoredEvidence[] = [];
  for (const runtime of runtimes) {
    // Batch files are named by arrival (zero-padded sequence), so name order is arrival order.
    for (const batch of await readAll(join(paths.evidenceDir, runtime.runtimeId), EvidenceBatchFileSchema)) {
      if (batch.runtimeId !== runtime.runtimeId) continue;
      for (const record of batch.records) evidence.push({ runtimeId: batch.runtimeId, receivedAt: batch.receivedAt, record: record as EvidenceRecord });
    }
  }
  return { runtimes, work, evidence, skipped };
}

/** Writes one state record as pretty JSON, atomically. */
export async function saveStateFile(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** A stored JSON file read as `schema`; undefined when absent, not strict JSON, or off-schema, so damage fails closed. */
export function parseStateFile<T>(text: string | undefined, schema: z.ZodType<T>): T | undefined {
  if (text === undefined) return undefined;
  try {
    const result = schema.safeParse(parseStrictJson(text));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}
