import type { EvidenceRecord } from '@lumenflow/protocol';
import { toMs } from './sql.js';
import type { SqlDb, SqlRunner } from './sql.js';

// The statements behind the store's group commits (batcher.ts): many callers'
// evidence appends, or many requests' nonces, as one statement each. Within a
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
