import type { ClaimRef, EvidenceRecord, WorkItem } from '@lumenflow/protocol';
import { toMs } from './sql.js';
import type { SqlDb, SqlRunner } from './sql.js';

// The statements behind the store's group commits (batcher.ts): many callers'
// evidence appends, nonces, dispatches or polls, as one statement or transaction each. Within a
// batch the first occurrence of a key wins, exactly as if the calls had run one
// after another in queue order.

export interface EvidenceAppend {
  origin: string;
  runtimeId: string;
  receivedMs: number;
  records: readonly EvidenceRecord[];
}

/** What one evidence notification tells a listener: which rows, from where. */
export interface EvidenceNotice {
  /** The Cloud instance that stored them (it announced them itself). */
  origin: string;
  runtimeId: string;
  seqs: number[];
  /** The sessions the rows belong to; null when there were too many to list (read them all). */
  sessions: string[] | null;
  enroll: boolean;
}

const NOTICE_SEQS = 200;
const NOTICE_SESSIONS = 20;
const key = (runtimeId: string, id: string): string => `${runtimeId}\u0000${id}`;

/**
 * Appends several callers' verified records in one INSERT (ON CONFLICT on
 * (runtime, record id) DO NOTHING) and announces the new rows by NOTIFY, one
 * notice per (origin, runtime) and at most 200 rows (payloads stop at 8000 bytes).
 * Returns, per caller, the record ids that caller's records inserted.
 */
export async function appendEvidenceBatch(tx: SqlRunner, appends: readonly EvidenceAppend[], channel: string): Promise<Set<string>[]> {
  const cols = { runtime: [] as string[], received: [] as number[], ids: [] as string[], kinds: [] as string[], types: [] as (string | null)[], sessions: [] as (string | null)[], texts: [] as string[] };
  const firstCaller = new Map<string, number>();
  appends.forEach((a, caller) => {
    for (const record of a.records) {
      const k = key(a.runtimeId, record.recordId);
      if (!firstCaller.has(k)) firstCaller.set(k, caller);
      const message = record.kind === 'runtime-message' ? record.message : undefined;
      cols.runtime.push(a.runtimeId);
      cols.received.push(a.receivedMs);
      cols.ids.push(record.recordId);
      cols.kinds.push(record.kind);
      cols.types.push(message?.type ?? null);
      cols.sessions.push(message !== undefined && message.type !== 'runtime.enroll' ? message.sessionId : null);
      cols.texts.push(JSON.stringify(record));
    }
  });
  const rows =
    cols.ids.length === 0
      ? []
      : await tx.query<{ seq: unknown; runtime_id: string; record_id: string; session_id: string | null; msg_type: string | null }>(
          `INSERT INTO evidence (runtime_id, received_ms, record_id, kind, msg_type, session_id, record)
           SELECT v.rt, v.ms, v.id, v.kind, v.t, v.s, v.r
           FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) WITH ORDINALITY AS v(rt, ms, id, kind, t, s, r, n)
           ORDER BY v.n
           ON CONFLICT (runtime_id, record_id) DO NOTHING RETURNING seq, runtime_id, record_id, session_id, msg_type`,
          [cols.runtime, cols.received, cols.ids, cols.kinds, cols.types as string[], cols.sessions as string[], cols.texts],
        );
  const inserted = appends.map(() => new Set<string>());
  const byNotice = new Map<string, { origin: string; runtimeId: string; rows: typeof rows }>();
  for (const row of rows) {
    const caller = firstCaller.get(key(row.runtime_id, row.record_id)) as number;
    inserted[caller]?.add(row.record_id);
    const origin = (appends[caller] as EvidenceAppend).origin;
    const group = byNotice.get(key(origin, row.runtime_id)) ?? { origin, runtimeId: row.runtime_id, rows: [] };
    group.rows.push(row);
    byNotice.set(key(origin, row.runtime_id), group);
  }
  const payloads: string[] = [];
  for (const group of byNotice.values()) {
    for (let i = 0; i < group.rows.length; i += NOTICE_SEQS) {
      const chunk = group.rows.slice(i, i + NOTICE_SEQS);
      const sessions = [...new Set(chunk.flatMap((r) => (r.session_id === null ? [] : [r.session_id])))];
      const notice: EvidenceNotice = {
        origin: group.origin,
        runtimeId: group.runtimeId,
        seqs: chunk.map((r) => toMs(r.seq)),
        sessions: sessions.length > NOTICE_SESSIONS ? null : sessions,
        enroll: chunk.some((r) => r.msg_type === 'runtime.enroll'),
      };
      payloads.push(JSON.stringify(notice));
    }
  }
  // Every notice in one statement; delivered at commit, in this order.
  if (payloads.length > 0) await tx.query('SELECT pg_notify($1, v.p) FROM unnest($2::text[]) AS v(p)', [channel, payloads]);
  return inserted;
}

export interface NonceUse {
  runtimeId: string;
  nonce: string;
  expiresMs: number;
}

/** Remembers several requests' nonces in one INSERT: true for each use that was the first, false for a replay. */
export async function rememberNonceBatch(db: SqlDb, uses: readonly NonceUse[]): Promise<boolean[]> {
  const rows = await db.query<{ runtime_id: string; nonce: string }>(
    `INSERT INTO nonces (runtime_id, nonce, expires_ms)
     SELECT v.rt, v.nonce, v.ms FROM unnest($1::text[], $2::text[], $3::bigint[]) WITH ORDINALITY AS v(rt, nonce, ms, n) ORDER BY v.n
     ON CONFLICT DO NOTHING RETURNING runtime_id, nonce`,
    [uses.map((u) => u.runtimeId), uses.map((u) => u.nonce), uses.map((u) => u.expiresMs)],
  );
  const fresh = new Set(rows.map((r) => key(r.runtime_id, r.nonce)));
  // A nonce twice in one batch: the first use is the one stored, the second a replay.
  return uses.map((u) => fresh.delete(key(u.runtimeId, u.nonce)));
}

/** The columns a work row is read back with. */
export const WORK_COLUMNS = 'work_id, runtime_id, seq, ask_id, attempt, session_id, item, created_ms, state, lease_id, claimed_ms, lease_expires_ms, ended_ms, outcome';
/** The same columns of the work table aliased `w` (an UPDATE … FROM). */
const WORK_COLUMNS_OF_W = WORK_COLUMNS.split(', ').map((c) => `w.${c}`).join(', ');

/** A new dispatch, built once its sequence number is known (the signed body carries it). */
export interface NewWork {
  workId: string;
  claim: ClaimRef | null;
  sessionId: string | null;
  replyTo: string | null;
  item: WorkItem;
  createdMs: number;
  /** A `session.start` names its session: refused when that session's run was taken over (see `CloudStore.takeAsk`). */
  controlSession?: string;
}

/** The outcome of a dispatch whose Ask another run took over: its lease renewals are refused, its session is never sent again. */
export const TAKEN_OVER = 'TAKEN_OVER';

/**
 * One Ask's dispatches are made one transaction at a time (a transaction-scoped
 * advisory lock on the Ask's id): attempts are counted, and a take-over ends the
 * earlier run's dispatches, without a dispatch of that Ask committing in between.
 * (Two batches that lock two Asks in opposite orders deadlock; Postgres aborts one,
 * and the batcher runs its items again one by one.)
 */
export async function lockAsk(tx: SqlRunner, askId: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(7210023, hashtext($1))', [askId]);
}

export interface WorkInsert {
  runtimeId: string;
  build: (seq: number, attempt: (askId: string) => Promise<number>) => Promise<NewWork>;
}

/** The stored row (new, or the earlier answer to the same runtime message), or why there is none. */
export type WorkInsertOutcome = { ok: true; row: Record<string, unknown> } | { ok: false; error: RangeError };

/**
 * Queues several dispatches in one transaction. The runtimes' rows are locked in
 * id order (two Clouds' batches never wait on each other in a cycle) and each
 * runtime's sequence numbers are taken in queue order, so they become visible in
 * order. One INSERT stores them all and one statement wakes every runtime named.
 * A reply to a runtime message already answered returns the first answer. A
 * dispatch of an Ask is made under that Ask's lock: `attempt` is one more than the
 * highest attempt of any of its dispatches, stored or earlier in this batch, and
 * a session whose run was taken over is never opened or started again (that item
 * fails alone with a RangeError; its sequence number is skipped).
 */
export async function insertWorkBatch(tx: SqlRunner, inserts: readonly WorkInsert[], channel: string): Promise<WorkInsertOutcome[]> {
  const ids = [...new Set(inserts.map((i) => i.runtimeId))].sort();
  await tx.query('SELECT runtime_id FROM runtimes WHERE runtime_id = ANY($1::text[]) ORDER BY runtime_id FOR UPDATE', [ids]);
  const counts = new Map<string, number>();
  for (const i of inserts) counts.set(i.runtimeId, (counts.get(i.runtimeId) ?? 0) + 1);
  const next = new Map<string, number>();
  for (const r of await tx.query<{ runtime_id: string; next_seq: number }>(
    'UPDATE runtimes r SET next_seq = r.next_seq + c.n FROM unnest($1::text[], $2::int[]) AS c(rt, n) WHERE r.runtime_id = c.rt RETURNING r.runtime_id, r.next_seq',
    [ids, ids.map((id) => counts.get(id) as number)],
  )) {
    // The first sequence number this batch takes for the runtime.
    next.set(r.runtime_id, Number(r.next_seq) - (counts.get(r.runtime_id) as number) + 1);
  }
  // Each Ask's lock is taken once per transaction (it is held until the commit).
  const lockedAsks = new Set<string>();
  const lock = async (askId: string): Promise<void> => {
    if (lockedAsks.has(askId)) return;
    await lockAsk(tx, askId);
    lockedAsks.add(askId);
  };
  // The batch's rows are inserted together at the end: attempts given earlier in it count too.
  const batchAttempts = new Map<string, number>();
  const attempt = async (askId: string): Promise<number> => {
    await lock(askId);
    // Over every dispatch of the Ask, whatever its state: a live or taken-over attempt is never reused.
    const stored = Number((await tx.query<{ n: number }>('SELECT coalesce(max(attempt), 0) AS n FROM work WHERE ask_id = $1', [askId]))[0]?.n ?? 0);
    return Math.max(stored, batchAttempts.get(askId) ?? 0) + 1;
  };
  const outcomes: (WorkInsertOutcome | NewWork)[] = [];
  for (const insert of inserts) {
    const seq = next.get(insert.runtimeId);
    if (seq === undefined) {
      outcomes.push({ ok: false, error: new RangeError(`dispatch: no enrolled runtime ${insert.runtimeId}`) });
      continue;
    }
    next.set(insert.runtimeId, seq + 1);
    const w = await insert.build(seq, attempt);
    if (w.claim !== null) {
      await lock(w.claim.askId);
      batchAttempts.set(w.claim.askId, Math.max(batchAttempts.get(w.claim.askId) ?? 0, w.claim.attempt));
    }
    if (w.replyTo !== null) {
      const earlier = (await tx.query<Record<string, unknown>>(`SELECT ${WORK_COLUMNS} FROM work WHERE runtime_id = $1 AND reply_to = $2`, [insert.runtimeId, w.replyTo]))[0];
      // Answered already (by this Cloud or another): the sequence number taken is simply skipped.
      if (earlier !== undefined) {
        outcomes.push({ ok: true, row: earlier });
        continue;
      }
    }
    outcomes.push(w);
  }
  // Sessions whose run was taken over are never opened or started again: one read for the batch, under the locks taken above.
  const sessionOf = (w: NewWork): string | null => (w.claim !== null ? w.sessionId : (w.controlSession ?? null));
  const sessions = [...new Set(outcomes.flatMap((o) => ('ok' in o ? [] : [sessionOf(o)]).filter((x): x is string => x !== null)))];
  if (sessions.length > 0) {
    const taken = new Set(
      (await tx.query<{ session_id: string }>('SELECT DISTINCT session_id FROM work WHERE session_id = ANY($1::text[]) AND outcome = $2', [sessions, TAKEN_OVER])).map((r) => r.session_id),
    );
    outcomes.forEach((o, i) => {
      const session = 'ok' in o ? null : sessionOf(o);
      if (session !== null && taken.has(session)) outcomes[i] = { ok: false, error: new RangeError(`dispatch: session ${session} was taken over by another run of its Ask`) };
    });
  }
  const fresh = inserts.flatMap((insert, i) => {
    const o = outcomes[i] as WorkInsertOutcome | NewWork;
    return 'ok' in o ? [] : [{ runtimeId: insert.runtimeId, w: o }];
  });
  const stored = new Map<string, Record<string, unknown>>();
  if (fresh.length > 0) {
    const rows = await tx.query<Record<string, unknown>>(
      `INSERT INTO work (work_id, runtime_id, seq, ask_id, attempt, session_id, reply_to, item, created_ms, state)
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::int[], $6::text[], $7::text[], $8::text[], $9::bigint[], $10::text[])
       RETURNING ${WORK_COLUMNS}`,
      [
        fresh.map((f) => f.w.workId),
        fresh.map((f) => f.runtimeId),
        fresh.map((f) => f.w.item.seq),
        fresh.map((f) => f.w.claim?.askId ?? null) as string[],
        fresh.map((f) => f.w.claim?.attempt ?? null) as number[],
        fresh.map((f) => f.w.sessionId) as string[],
        fresh.map((f) => f.w.replyTo) as string[],
        fresh.map((f) => JSON.stringify(f.w.item)),
        fresh.map((f) => f.w.createdMs),
        fresh.map((f) => (f.w.claim === null ? 'control' : 'queued')),
      ],
    );
    for (const row of rows) stored.set(row['work_id'] as string, row);
    await tx.query('SELECT pg_notify($1, v.rt) FROM unnest($2::text[]) AS v(rt)', [channel, [...new Set(fresh.map((f) => f.runtimeId))]]);
  }
  return outcomes.map((o) => ('ok' in o ? o : { ok: true, row: stored.get(o.workId) as Record<string, unknown> }));
}

export interface WorkPoll {
  runtimeId: string;
  after: number;
  limit: number;
}

/** Several runtimes' polls in one read: each gets its pending dispatches after its own sequence number, in order. */
export async function pollWorkBatch(db: SqlRunner, polls: readonly WorkPoll[]): Promise<WorkItem[][]> {
  const rows = await db.query<{ n: unknown; item: string }>(
    `SELECT v.n, w.item FROM unnest($1::text[], $2::int[], $3::int[]) WITH ORDINALITY AS v(rt, after, lim, n)
     CROSS JOIN LATERAL (
       SELECT item, seq FROM work WHERE runtime_id = v.rt AND seq > v.after AND state IN ('queued', 'claimed', 'control') ORDER BY seq LIMIT v.lim
     ) AS w
     ORDER BY v.n, w.seq`,
    [polls.map((p) => p.runtimeId), polls.map((p) => p.after), polls.map((p) => p.limit)],
  );
  const out = polls.map((): WorkItem[] => []);
  for (const r of rows) out[Number(r.n) - 1]?.push(JSON.parse(r.item) as WorkItem);
  return out;
}

export interface QueuedClaim {
  runtimeId: string;
  workId: string;
  askId: string;
  attempt: number;
  leaseId: string;
  nowMs: number;
  expiresMs: number;
}

/**
 * Claims several queued dispatches in one UPDATE: each row that is still queued
 * for that runtime, Ask and attempt; undefined for one that is not (the caller
 * finds out why). A unique violation (another live claim of an Ask) fails the
 * statement, and the batcher then runs each claim alone.
 */
export async function claimQueuedBatch(db: SqlRunner, claims: readonly QueuedClaim[]): Promise<(Record<string, unknown> | undefined)[]> {
  const rows = await db.query<Record<string, unknown>>(
    `UPDATE work AS w SET state = 'claimed', lease_id = v.lease, claimed_ms = v.now, lease_expires_ms = v.expires
     FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::bigint[], $7::bigint[]) AS v(work, rt, ask, attempt, lease, now, expires)
     WHERE w.work_id = v.work AND w.runtime_id = v.rt AND w.ask_id = v.ask AND w.attempt = v.attempt AND w.state = 'queued'
     RETURNING ${WORK_COLUMNS_OF_W}`,
    [claims.map((c) => c.workId), claims.map((c) => c.runtimeId), claims.map((c) => c.askId), claims.map((c) => c.attempt), claims.map((c) => c.leaseId), claims.map((c) => c.nowMs), claims.map((c) => c.expiresMs)],
  );
  const byWork = new Map(rows.map((r) => [r['work_id'] as string, r]));
  // The same dispatch twice in one batch: the first claim took it, the second finds out why.
  return claims.map((c) => {
    const row = byWork.get(c.workId);
    if (row === undefined || row['lease_id'] !== c.leaseId) return undefined;
    byWork.delete(c.workId);
    return row;
  });
}

export interface SessionEnd {
  runtimeId: string;
  sessionId: string;
  outcome: string;
  nowMs: number;
}

/** Completes several sessions' dispatches in one UPDATE: the ended row of each, or undefined when none was open. */
export async function completeSessionBatch(db: SqlRunner, ends: readonly SessionEnd[]): Promise<(Record<string, unknown> | undefined)[]> {
  const rows = await db.query<Record<string, unknown>>(
    `UPDATE work AS w SET state = 'completed', ended_ms = v.now, outcome = v.outcome
     FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS v(ses, rt, outcome, now)
     WHERE w.session_id = v.ses AND w.runtime_id = v.rt AND w.ask_id IS NOT NULL AND w.state IN ('queued', 'claimed')
     RETURNING ${WORK_COLUMNS_OF_W}`,
    [ends.map((e) => e.sessionId), ends.map((e) => e.runtimeId), ends.map((e) => e.outcome), ends.map((e) => e.nowMs)],
  );
  const first = new Map<string, Record<string, unknown>>();
  for (const r of rows) {
    const k = key(r['runtime_id'] as string, r['session_id'] as string);
    if (!first.has(k)) first.set(k, r);
  }
  // The first end of a session answers; a repeat in the same batch finds it ended, as it would after the first.
  return ends.map((e) => {
    const k = key(e.runtimeId, e.sessionId);
    const row = first.get(k);
    first.delete(k);
    return row;
  });
}
