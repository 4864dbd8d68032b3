import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClaimRef, EvidenceRecord, RuntimeHost, WorkItem } from '@lumenflow/protocol';
import { CloudError } from '../errors.js';
import { createBatcher } from './batcher.js';
import { TAKEN_OVER, WORK_COLUMNS, appendEvidenceBatch, claimQueuedBatch, completeSessionBatch, insertWorkBatch, lockAsk, pollWorkBatch, rememberNonceBatch } from './grouped-writes.js';
import type { EvidenceAppend, NewWork, QueuedClaim, SessionEnd, WorkInsert, WorkInsertOutcome, WorkPoll } from './grouped-writes.js';
import { migrate } from './migrations.js';
import { sqlErrorCode, toMs } from './sql.js';
import type { SqlDb, SqlRunner } from './sql.js';

// Cloud's state as tables. Every invariant a racing request could break is a
// constraint the database enforces (see migrations.ts), so it holds however many
// Cloud processes share the database: the code below asks, the schema decides.

export type { EvidenceNotice, NewWork } from './grouped-writes.js';
export { TAKEN_OVER } from './grouped-writes.js';

export type WorkState = 'queued' | 'claimed' | 'completed' | 'failed' | 'control';

export interface RuntimeRow {
  runtimeId: string;
  keyId: string;
  publicKeyPem: string;
  labels: string[];
  version: string;
  host: RuntimeHost;
  enrolledAt: string;
  lastSeenMs: number;
  droppedMs: number | null;
}

export interface WorkRow {
  workId: string;
  runtimeId: string;
  seq: number;
  claim: ClaimRef | null;
  sessionId: string | null;
  item: WorkItem;
  createdAt: string;
  state: WorkState;
  lease: { leaseId: string; claimedAt: string; expiresAt: string } | null;
  endedAt: string | null;
  outcome: string | null;
}

export interface StoredEvidence {
  runtimeId: string;
  receivedAt: string;
  record: EvidenceRecord;
}

export type EnrollOutcome = { ok: true } | { ok: false; code: 'TOKEN_INVALID' | 'TOKEN_USED' | 'TOKEN_EXPIRED' | 'KEY_ALREADY_ENROLLED' };
export type ClaimOutcome =
  | { ok: true; status: 200 | 201; leaseId: string; expiresMs: number; work: WorkRow }
  | { ok: false; code: 'WORK_UNKNOWN' | 'CLAIM_CONFLICT'; message: string };

export interface AskRow {
  askId: string;
  ask: string;
  state: 'queued' | 'running' | 'paused' | 'done';
  /** The Cloud instance running it (state `running`), else null. */
  owner: string | null;
  runs: number;
  outcome: string | null;
}

/**
 * One run of an Ask as the Cloud that took it holds it: its instance and the take's
 * number (`runs` after the take). Every write a run makes to its Ask is conditioned
 * on both, so a run that lost its Ask, to another Cloud or to a later take by its own
 * (its lease lapsed while it stalled), writes nothing.
 */
export interface AskHold {
  owner: string;
  runs: number;
}

/** A taken Ask, with the dispatches of its earlier run that the take-over ended. */
export interface TakenAsk extends AskRow {
  ended: WorkRow[];
}


export interface ApprovalRow {
  approvalId: string;
  askId: string;
  runId: string;
  state: 'pending' | 'settled';
  snapshot: string;
  answer: string | null;
  settled: string | null;
}

/** A NOTIFY channel and what its payload says. */
export const CHANNELS = { work: 'lf_work', evidence: 'lf_evidence', asks: 'lf_asks', approvals: 'lf_approvals' } as const;

const iso = (ms: unknown): string => new Date(toMs(ms)).toISOString();

function toWork(r: Record<string, unknown>): WorkRow {
  return {
    workId: r['work_id'] as string,
    runtimeId: r['runtime_id'] as string,
    seq: Number(r['seq']),
    claim: r['ask_id'] === null ? null : { askId: r['ask_id'] as string, attempt: Number(r['attempt']) },
    sessionId: (r['session_id'] as string | null) ?? null,
    item: JSON.parse(r['item'] as string) as WorkItem,
    createdAt: iso(r['created_ms']),
    state: r['state'] as WorkState,
    lease: r['lease_id'] === null ? null : { leaseId: r['lease_id'] as string, claimedAt: iso(r['claimed_ms']), expiresAt: iso(r['lease_expires_ms']) },
    endedAt: r['ended_ms'] === null ? null : iso(r['ended_ms']),
    outcome: (r['outcome'] as string | null) ?? null,
  };
}

function toRuntime(r: Record<string, unknown>): RuntimeRow {
  return {
    runtimeId: r['runtime_id'] as string,
    keyId: r['key_id'] as string,
    publicKeyPem: r['public_key_pem'] as string,
    labels: JSON.parse(r['labels'] as string) as string[],
    version: r['version'] as string,
    host: JSON.parse(r['host'] as string) as RuntimeHost,
    enrolledAt: iso(r['enrolled_ms']),
    lastSeenMs: toMs(r['last_seen_ms']),
    droppedMs: r['dropped_ms'] === null ? null : toMs(r['dropped_ms']),
  };
}

function toEvidence(r: Record<string, unknown>): StoredEvidence {
  return { runtimeId: r['runtime_id'] as string, receivedAt: iso(r['received_ms']), record: JSON.parse(r['record'] as string) as EvidenceRecord };
}

function toApproval(r: Record<string, unknown>): ApprovalRow {
  return {
    approvalId: r['approval_id'] as string,
    askId: r['ask_id'] as string,
    runId: r['run_id'] as string,
    state: r['state'] as ApprovalRow['state'],
    snapshot: r['snapshot'] as string,
    answer: (r['answer'] as string | null) ?? null,
    settled: (r['settled'] as string | null) ?? null,
  };
}

export interface CloudStore {
  readonly kind: SqlDb['kind'];
  /** The database itself, for the contract tests and the bench's counts. */
  readonly db: SqlDb;
  close(): Promise<void>;
  /** Subscribes to one NOTIFY channel (see {@link CHANNELS}). */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;

  insertToken(t: { tokenHash: string; createdMs: number; expiresMs: number }): Promise<boolean>;
  /** Burns the token and creates the runtime in one transaction: one use per token, one runtime per key. */
  enrollRuntime(e: { tokenHash: string; nowMs: number; runtime: Omit<RuntimeRow, 'enrolledAt' | 'lastSeenMs' | 'droppedMs'> }): Promise<EnrollOutcome>;
  getRuntime(runtimeId: string): Promise<RuntimeRow | undefined>;
  listRuntimes(): Promise<RuntimeRow[]>;
  /** Moves last-seen times forward (never back); a runtime seen after its poll dropped is no longer dropped. */
  touchRuntimes(seen: ReadonlyMap<string, number>): Promise<void>;
  markDropped(runtimeId: string, atMs: number): Promise<void>;

  /**
   * Appends a dispatch to a runtime's queue. Sequence numbers are taken under the
   * runtime's row lock, so they become visible in order. A reply to a runtime
   * message that was already answered returns the first answer. A dispatch of an
   * Ask is made under that Ask's lock: `attempt` is one more than the highest
   * attempt of any of its dispatches, so no two share one, and a session whose
   * run was taken over is never opened or started again.
   *
   * @throws {RangeError} when the runtime is unknown, or the session was taken over.
   */
  insertWork(runtimeId: string, build: (seq: number, attempt: (askId: string) => Promise<number>) => Promise<NewWork>): Promise<WorkRow>;
  pollWork(runtimeId: string, after: number, limit: number): Promise<WorkItem[]>;
  claimWork(c: { runtimeId: string; workId: string; askId: string; attempt: number; nowMs: number; leaseMs: number; leaseId: string }): Promise<ClaimOutcome>;
  renewLease(r: { runtimeId: string; askId: string; attempt: number; leaseId: string; nowMs: number; leaseMs: number }): Promise<number | undefined>;
  completeSession(runtimeId: string, sessionId: string, outcome: string, nowMs: number): Promise<WorkRow | undefined>;
  /** Fails claims whose lease ran out, taking each row with SKIP LOCKED so two sweepers never take the same one. */
  expireLeases(nowMs: number, limit: number): Promise<WorkRow[]>;
  getWork(workId: string): Promise<WorkRow | undefined>;
  sessionOwners(sessionIds: readonly string[]): Promise<Map<string, string>>;

  knownRecordIds(runtimeId: string, recordIds: readonly string[]): Promise<Set<string>>;
  /** Appends verified records; returns the ids actually inserted (a record id already stored is skipped). */
  appendEvidence(a: { origin: string; runtimeId: string; receivedMs: number; records: readonly EvidenceRecord[] }): Promise<Set<string>>;
  readEvidence(runtimeId: string, seqs: readonly number[]): Promise<StoredEvidence[]>;
  listEvidence(runtimeId: string): Promise<StoredEvidence[]>;
  /** Records of a run's session, in arrival order: what its bundle is assembled from. */
  sessionEvidence(sessionId: string): Promise<StoredEvidence[]>;
  latestEnrollments(): Promise<StoredEvidence[]>;

  /** False when the runtime already used this nonce. */
  rememberNonce(runtimeId: string, nonce: string, expiresMs: number): Promise<boolean>;
  pruneNonces(nowMs: number): Promise<number>;

  submitAsk(askId: string, askJson: string, nowMs: number): Promise<boolean>;
  /**
   * Takes the oldest Ask that is queued, or running under a lapsed lease, with SKIP LOCKED.
   * In the same transaction every dispatch of its earlier run that is still queued or
   * claimed (or that the sweep expired but has not sent again) ends as `failed` /
   * {@link TAKEN_OVER}: the runtime's next lease renewal is refused and it stops that
   * session, and the new run's dispatch is the next attempt.
   */
  takeAsk(owner: string, nowMs: number, leaseMs: number): Promise<TakenAsk | undefined>;
  /** Renews this Cloud's running Asks; returns the ids it still owns (one taken over is missing). */
  renewAskLeases(owner: string, nowMs: number, leaseMs: number): Promise<string[]>;
  /** Embedded database only: no other process can hold a lease on it, so every running Ask is orphaned at start. */
  lapseAskLeases(): Promise<void>;
  releaseAsk(askId: string, hold: AskHold, to: 'queued' | 'paused'): Promise<void>;
  /** Records an Ask's outcome once; false when it was taken again (its lease lapsed) or it was done. With no hold: any Ask not done. */
  finishAsk(askId: string, hold: AskHold | null, outcomeJson: string, nowMs: number): Promise<boolean>;
  readAsk(askId: string): Promise<AskRow | undefined>;

  /**
   * Stores a run paused at its approval gate. Its Ask stays `running` under the live run's lease; if that lapses, the Ask is `paused` and any Cloud settles the approval.
   * Given `hold`, only while that run still holds the Ask (under its row lock, so a take-over and the save never both happen): false otherwise.
   */
  savePendingApproval(p: { approvalId: string; askId: string; runId: string; requestedMs: number; expiresMs: number; snapshot: string; hold?: AskHold }): Promise<boolean>;
  getApproval(approvalId: string): Promise<ApprovalRow | undefined>;
  listPendingApprovals(): Promise<ApprovalRow[]>;
  /** Stores an answer once: false when the approval already has one or is settled. */
  answerApproval(approvalId: string, answerJson: string, nowMs: number): Promise<boolean>;
  clearAnswer(approvalId: string, answerJson: string): Promise<void>;
  /** Marks it settled and, given one, records its Ask's outcome, in one transaction. */
  settleApproval(approvalId: string, settledJson: string, askOutcome: { askId: string; json: string } | undefined, nowMs: number): Promise<boolean>;
}

/** Names of the file-backed state of earlier versions: a directory with any of them is refused. */
const FILE_STATE = ['runtimes', 'work', 'tokens', 'evidence', 'asks', 'approvals', 'nonces.jsonl'];

/**
 * Opens Cloud's store: a Postgres server when `databaseUrl` is given, else the
 * embedded one in `<dataDir>/db`. Migrates to this code's schema first.
 *
 * @throws {CloudError} DATA_DIR_FILE_STATE (the directory holds the old file state), SCHEMA_TOO_NEW,
 *   DATA_DIR_LOCKED, DATABASE_UNREACHABLE.
 */
export async function openCloudStore(opts: { dataDir: string; databaseUrl?: string | undefined }): Promise<CloudStore> {
  for (const name of FILE_STATE) {
    if (await stat(join(opts.dataDir, name)).then(() => true, () => false)) {
      throw new CloudError(
        'DATA_DIR_FILE_STATE',
        `${opts.dataDir}: holds file-backed state from an earlier Cloud (${name}); this Cloud keeps its state in a database and does not read it. Move the directory aside, start with a new one and enroll the runtimes again (ADR 0040)`,
      );
    }
  }
  // Loaded on use: a command that talks to a running Cloud over HTTP never pays for the WASM database or pg.
  const db =
    opts.databaseUrl === undefined ? await (await import('./pglite-adapter.js')).openPgliteDb(opts.dataDir) : await (await import('./pg-adapter.js')).openPostgresDb(opts.databaseUrl);
  try {
    await migrate(db);
  } catch (error) {
    await db.close();
    throw error;
  }
  return createCloudStore(db);
}

/** The store over an open, migrated database. */
export function createCloudStore(db: SqlDb): CloudStore {
  // Group commits (batcher.ts): concurrent requests share one statement and one commit.
  const appendEvidence = createBatcher<EvidenceAppend, Set<string>>((appends) => db.transaction((tx) => appendEvidenceBatch(tx, appends, CHANNELS.evidence)), { maxItems: 64 });
  const insertWork = createBatcher<WorkInsert, WorkInsertOutcome>((inserts) => db.transaction((tx) => insertWorkBatch(tx, inserts, CHANNELS.work)), { maxItems: 64 });
  const pollWork = createBatcher<WorkPoll, WorkItem[]>((polls) => pollWorkBatch(db, polls), { maxItems: 128 });
  const claimQueued = createBatcher<QueuedClaim, Record<string, unknown> | undefined>((claims) => claimQueuedBatch(db, claims), { maxItems: 128 });
  const completeSession = createBatcher<SessionEnd, Record<string, unknown> | undefined>((ends) => completeSessionBatch(db, ends), { maxItems: 128 });
  const rememberNonce = createBatcher((uses: readonly { runtimeId: string; nonce: string; expiresMs: number }[]) => rememberNonceBatch(db, uses), { maxItems: 256 });
  const one = async <T>(q: SqlRunner, text: string, params: Parameters<SqlRunner['query']>[1]): Promise<T | undefined> => (await q.query<T>(text, params))[0];
  return {
    kind: db.kind,
    db,
    close: () => db.close(),
    listen: (channel, fn) => db.listen(channel, fn),

    insertToken: async (t) =>
      (await db.query('INSERT INTO enroll_tokens (token_hash, created_ms, expires_ms) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING token_hash', [t.tokenHash, t.createdMs, t.expiresMs])).length === 1,
    enrollRuntime: (e) =>
      db.transaction(async (tx): Promise<EnrollOutcome> => {
        const token = await one<Record<string, unknown>>(tx, 'SELECT used_ms, expires_ms FROM enroll_tokens WHERE token_hash = $1 FOR UPDATE', [e.tokenHash]);
        if (token === undefined) return { ok: false, code: 'TOKEN_INVALID' };
        if (token['used_ms'] !== null) return { ok: false, code: 'TOKEN_USED' };
        if (toMs(token['expires_ms']) <= e.nowMs) return { ok: false, code: 'TOKEN_EXPIRED' };
        const r = e.runtime;
        const made = await tx.query(
          `INSERT INTO runtimes (runtime_id, key_id, public_key_pem, labels, version, host, enrolled_ms, last_seen_ms)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (key_id) DO NOTHING RETURNING runtime_id`,
          [r.runtimeId, r.keyId, r.publicKeyPem, JSON.stringify(r.labels), r.version, JSON.stringify(r.host), e.nowMs],
        );
        // The key is taken: the token stays unused, the transaction changes nothing.
        if (made.length === 0) return { ok: false, code: 'KEY_ALREADY_ENROLLED' };
        await tx.query('UPDATE enroll_tokens SET used_ms = $2, runtime_id = $3 WHERE token_hash = $1', [e.tokenHash, e.nowMs, r.runtimeId]);
        return { ok: true };
      }),
    getRuntime: async (id) => {
      const r = await one<Record<string, unknown>>(db, 'SELECT * FROM runtimes WHERE runtime_id = $1', [id]);
      return r === undefined ? undefined : toRuntime(r);
    },
    listRuntimes: async () => (await db.query<Record<string, unknown>>('SELECT * FROM runtimes ORDER BY runtime_id')).map(toRuntime),
    touchRuntimes: async (seen) => {
      if (seen.size === 0) return;
      await db.query(
        `UPDATE runtimes r SET last_seen_ms = GREATEST(r.last_seen_ms, v.ms),
           dropped_ms = CASE WHEN r.dropped_ms IS NOT NULL AND v.ms > r.dropped_ms THEN NULL ELSE r.dropped_ms END
         FROM unnest($1::text[], $2::bigint[]) AS v(id, ms) WHERE r.runtime_id = v.id`,
        [[...seen.keys()], [...seen.values()]],
      );
    },
    markDropped: async (id, atMs) => {
      await db.query('UPDATE runtimes SET dropped_ms = $2 WHERE runtime_id = $1 AND last_seen_ms <= $2', [id, atMs]);
    },

    insertWork: async (runtimeId, build) => {
      let outcome: WorkInsertOutcome;
      try {
        outcome = await insertWork({ runtimeId, build });
      } catch (error) {
        if (sqlErrorCode(error) === '23505') throw new RangeError('dispatch: a conflicting dispatch exists', { cause: error });
        throw error;
      }
      if (!outcome.ok) throw outcome.error;
      return toWork(outcome.row);
    },
    pollWork: (runtimeId, after, limit) => pollWork({ runtimeId, after, limit }),
    claimWork: async (c) => {
      try {
        // The common case in one statement (shared by the claims made together): a queued dispatch of this runtime, Ask and attempt.
        const expiresMs = c.nowMs + c.leaseMs;
        const claimed = await claimQueued({ runtimeId: c.runtimeId, workId: c.workId, askId: c.askId, attempt: c.attempt, leaseId: c.leaseId, nowMs: c.nowMs, expiresMs });
        if (claimed !== undefined) return { ok: true, status: 201, leaseId: c.leaseId, expiresMs, work: toWork(claimed) };
        // Otherwise find out why, under the row's lock: a repeated claim, another Ask or attempt, or no such dispatch.
        return await db.transaction(async (tx): Promise<ClaimOutcome> => {
          const found = await one<Record<string, unknown>>(tx, `SELECT ${WORK_COLUMNS} FROM work WHERE work_id = $1 FOR UPDATE`, [c.workId]);
          const work = found === undefined ? undefined : toWork(found);
          if (work === undefined || work.runtimeId !== c.runtimeId || work.claim === null) return { ok: false, code: 'WORK_UNKNOWN', message: 'no claimable dispatch with that id' };
          if (work.claim.askId !== c.askId || work.claim.attempt !== c.attempt) return { ok: false, code: 'CLAIM_CONFLICT', message: 'the claim names another Ask or attempt' };
          if (work.state === 'claimed' && work.lease !== null && Date.parse(work.lease.expiresAt) >= c.nowMs) {
            // Idempotent: the same runtime claiming the same (askId, attempt) again gets the lease it holds.
            return { ok: true, status: 200, leaseId: work.lease.leaseId, expiresMs: Date.parse(work.lease.expiresAt), work };
          }
          if (work.state !== 'queued') return { ok: false, code: 'CLAIM_CONFLICT', message: `the dispatch is ${work.state}` };
          const expiresMs = c.nowMs + c.leaseMs;
          const row = await one<Record<string, unknown>>(
            tx,
            `UPDATE work SET state = 'claimed', lease_id = $2, claimed_ms = $3, lease_expires_ms = $4 WHERE work_id = $1 RETURNING ${WORK_COLUMNS}`,
            [c.workId, c.leaseId, c.nowMs, expiresMs],
          );
          return { ok: true, status: 201, leaseId: c.leaseId, expiresMs, work: toWork(row as Record<string, unknown>) };
        });
      } catch (error) {
        // work_one_claim_per_attempt / work_one_live_claim: this (Ask, attempt) was claimed, or another attempt is live.
        if (sqlErrorCode(error) === '23505') return { ok: false, code: 'CLAIM_CONFLICT', message: 'the Ask is already claimed' };
        throw error;
      }
    },
    renewLease: async (r) => {
      const row = await one<{ e: unknown }>(
        db,
        `UPDATE work SET lease_expires_ms = $6 WHERE runtime_id = $1 AND ask_id = $2 AND attempt = $3 AND state = 'claimed' AND lease_id = $4 AND lease_expires_ms >= $5
         RETURNING lease_expires_ms AS e`,
        [r.runtimeId, r.askId, r.attempt, r.leaseId, r.nowMs, r.nowMs + r.leaseMs],
      );
      return row === undefined ? undefined : toMs(row.e);
    },
    completeSession: async (runtimeId, sessionId, outcome, nowMs) => {
      const row = await completeSession({ runtimeId, sessionId, outcome, nowMs });
      return row === undefined ? undefined : toWork(row);
    },
    expireLeases: (nowMs, limit) =>
      db.transaction(async (tx) => {
        const rows = await tx.query<{ work_id: string }>(
          "SELECT work_id FROM work WHERE state = 'claimed' AND lease_expires_ms < $1 ORDER BY lease_expires_ms LIMIT $2 FOR UPDATE SKIP LOCKED",
          [nowMs, limit],
        );
        if (rows.length === 0) return [];
        return (
          await tx.query<Record<string, unknown>>(
            `UPDATE work SET state = 'failed', ended_ms = $2, outcome = 'LEASE_EXPIRED' WHERE work_id = ANY($1::text[]) RETURNING ${WORK_COLUMNS}`,
            [rows.map((r) => r.work_id), nowMs],
          )
        ).map(toWork);
      }),
    getWork: async (workId) => {
      const r = await one<Record<string, unknown>>(db, `SELECT ${WORK_COLUMNS} FROM work WHERE work_id = $1`, [workId]);
      return r === undefined ? undefined : toWork(r);
    },
    sessionOwners: async (sessionIds) => {
      const out = new Map<string, string>();
      if (sessionIds.length === 0) return out;
      for (const r of await db.query<{ session_id: string; runtime_id: string }>('SELECT session_id, runtime_id FROM work WHERE session_id = ANY($1::text[]) AND ask_id IS NOT NULL', [sessionIds])) {
        out.set(r.session_id, r.runtime_id);
      }
      return out;
    },

    knownRecordIds: async (runtimeId, recordIds) =>
      new Set((await db.query<{ record_id: string }>('SELECT record_id FROM evidence WHERE runtime_id = $1 AND record_id = ANY($2::text[])', [runtimeId, recordIds])).map((r) => r.record_id)),
    appendEvidence,
    readEvidence: async (runtimeId, seqs) =>
      (await db.query<Record<string, unknown>>('SELECT runtime_id, received_ms, record FROM evidence WHERE runtime_id = $1 AND seq = ANY($2::bigint[]) ORDER BY seq', [runtimeId, seqs])).map(toEvidence),
    listEvidence: async (runtimeId) => (await db.query<Record<string, unknown>>('SELECT runtime_id, received_ms, record FROM evidence WHERE runtime_id = $1 ORDER BY seq', [runtimeId])).map(toEvidence),
    sessionEvidence: async (sessionId) =>
      (await db.query<Record<string, unknown>>('SELECT runtime_id, received_ms, record FROM evidence WHERE session_id = $1 ORDER BY seq', [sessionId])).map(toEvidence),
    latestEnrollments: async () =>
      (
        await db.query<Record<string, unknown>>(
          "SELECT DISTINCT ON (runtime_id) runtime_id, received_ms, record FROM evidence WHERE msg_type = 'runtime.enroll' ORDER BY runtime_id, seq DESC",
        )
      ).map(toEvidence),

    rememberNonce: (runtimeId, nonce, expiresMs) => rememberNonce({ runtimeId, nonce, expiresMs }),
    pruneNonces: async (nowMs) =>
      Number((await one<{ n: number }>(db, 'WITH d AS (DELETE FROM nonces WHERE expires_ms < $1 RETURNING 1) SELECT count(*)::int AS n FROM d', [nowMs]))?.n ?? 0),

    submitAsk: (askId, askJson, nowMs) =>
      db.transaction(async (tx) => {
        const made = await tx.query("INSERT INTO asks (ask_id, ask, submitted_ms, state) VALUES ($1, $2, $3, 'queued') ON CONFLICT DO NOTHING RETURNING ask_id", [askId, askJson, nowMs]);
        if (made.length === 1) await tx.query('SELECT pg_notify($1, $2)', [CHANNELS.asks, askId]);
        return made.length === 1;
      }),
    takeAsk: async (owner, nowMs, leaseMs) => {
      for (;;) {
        const taken = await db.transaction(async (tx) => {
        const r = await one<{ ask_id: string }>(
          tx,
          "SELECT ask_id FROM asks WHERE state = 'queued' OR (state = 'running' AND lease_expires_ms < $1) ORDER BY submitted_ms LIMIT 1 FOR UPDATE SKIP LOCKED",
          [nowMs],
        );
        if (r === undefined) return undefined;
        // The earlier run's dispatches end here, under the Ask's lock: no dispatch of that run can slip in after.
        await lockAsk(tx, r.ask_id);
        const ended = (
          await tx.query<Record<string, unknown>>(
            `UPDATE work SET state = 'failed', ended_ms = coalesce(ended_ms, $2), outcome = $3
             WHERE ask_id = $1 AND (state IN ('queued', 'claimed') OR (state = 'failed' AND outcome = 'LEASE_EXPIRED')) RETURNING ${WORK_COLUMNS}`,
            [r.ask_id, nowMs, TAKEN_OVER],
          )
        ).map(toWork);
        // A lapsed run that had reached its approval gate is not run again: the stored approval finishes it.
        if ((await tx.query("SELECT 1 FROM approvals WHERE ask_id = $1 AND state = 'pending'", [r.ask_id])).length > 0) {
          await tx.query("UPDATE asks SET state = 'paused', owner = NULL, lease_expires_ms = NULL WHERE ask_id = $1", [r.ask_id]);
          return 'paused' as const;
        }
        const row = await one<Record<string, unknown>>(
          tx,
          `UPDATE asks SET state = 'running', owner = $2, lease_expires_ms = $3, runs = runs + 1 WHERE ask_id = $1 RETURNING ${ASK_COLUMNS}`,
          [r.ask_id, owner, nowMs + leaseMs],
        );
        return { ...toAsk(row as Record<string, unknown>), ended };
        });
        if (taken !== 'paused') return taken;
      }
    },
    lapseAskLeases: async () => {
      await db.query("UPDATE asks SET lease_expires_ms = 0 WHERE state = 'running'");
    },
    renewAskLeases: async (owner, nowMs, leaseMs) =>
      (await db.query<{ ask_id: string }>("UPDATE asks SET lease_expires_ms = $2 WHERE owner = $1 AND state = 'running' RETURNING ask_id", [owner, nowMs + leaseMs])).map((r) => r.ask_id),
    releaseAsk: async (askId, hold, to) => {
      await db.query("UPDATE asks SET state = $3, owner = NULL, lease_expires_ms = NULL WHERE ask_id = $1 AND owner = $2 AND runs = $4 AND state = 'running'", [askId, hold.owner, to, hold.runs]);
      if (to === 'queued') await db.query('SELECT pg_notify($1, $2)', [CHANNELS.asks, askId]);
    },
    finishAsk: async (askId, hold, outcomeJson, nowMs) =>
      (
        await db.query(
          "UPDATE asks SET state = 'done', outcome = $3, done_ms = $4, owner = NULL, lease_expires_ms = NULL WHERE ask_id = $1 AND ((owner = $2 AND runs = $5::int) OR ($2::text IS NULL AND state <> 'done')) RETURNING ask_id",
          [askId, hold?.owner ?? null, outcomeJson, nowMs, hold?.runs ?? null],
        )
      ).length === 1,
    readAsk: async (askId) => {
      const r = await one<Record<string, unknown>>(db, `SELECT ${ASK_COLUMNS} FROM asks WHERE ask_id = $1`, [askId]);
      return r === undefined ? undefined : toAsk(r);
    },

    savePendingApproval: (p) =>
      db.transaction(async (tx) => {
        // FOR UPDATE: a take-over of the Ask waits for this save, or this save sees the new owner.
        if (p.hold !== undefined && (await tx.query("SELECT 1 FROM asks WHERE ask_id = $1 AND owner = $2 AND runs = $3 AND state = 'running' FOR UPDATE", [p.askId, p.hold.owner, p.hold.runs])).length === 0) {
          return false;
        }
        await tx.query(
          "INSERT INTO approvals (approval_id, ask_id, run_id, requested_ms, expires_ms, snapshot, state) VALUES ($1, $2, $3, $4, $5, $6, 'pending')",
          [p.approvalId, p.askId, p.runId, p.requestedMs, p.expiresMs, p.snapshot],
        );
        return true;
      }),
    getApproval: async (id) => {
      const r = await one<Record<string, unknown>>(db, 'SELECT * FROM approvals WHERE approval_id = $1', [id]);
      return r === undefined ? undefined : toApproval(r);
    },
    listPendingApprovals: async () => (await db.query<Record<string, unknown>>("SELECT * FROM approvals WHERE state = 'pending' ORDER BY requested_ms, approval_id")).map(toApproval),
    answerApproval: (id, answerJson, nowMs) =>
      db.transaction(async (tx) => {
        const done = await tx.query("UPDATE approvals SET answer = $2, answered_ms = $3 WHERE approval_id = $1 AND state = 'pending' AND answer IS NULL RETURNING approval_id", [id, answerJson, nowMs]);
        if (done.length === 1) await tx.query('SELECT pg_notify($1, $2)', [CHANNELS.approvals, id]);
        return done.length === 1;
      }),
    clearAnswer: async (id, answerJson) => {
      await db.query("UPDATE approvals SET answer = NULL, answered_ms = NULL WHERE approval_id = $1 AND state = 'pending' AND answer = $2", [id, answerJson]);
    },
    settleApproval: (id, settledJson, askOutcome, nowMs) =>
      db.transaction(async (tx) => {
        const done = await tx.query("UPDATE approvals SET state = 'settled', settled = $2 WHERE approval_id = $1 AND state = 'pending' RETURNING approval_id", [id, settledJson]);
        if (done.length === 1 && askOutcome !== undefined) {
          await tx.query("UPDATE asks SET state = 'done', outcome = $2, done_ms = $3, owner = NULL, lease_expires_ms = NULL WHERE ask_id = $1 AND state <> 'done'", [askOutcome.askId, askOutcome.json, nowMs]);
        }
        return done.length === 1;
      }),
  };
}

const ASK_COLUMNS = 'ask_id, ask, state, owner, runs, outcome';

function toAsk(r: Record<string, unknown>): AskRow {
  return {
    askId: r['ask_id'] as string,
    ask: r['ask'] as string,
    state: r['state'] as AskRow['state'],
    owner: (r['owner'] as string | null) ?? null,
    runs: Number(r['runs']),
    outcome: (r['outcome'] as string | null) ?? null,
  };
}
