import { CloudError } from '../errors.js';
import type { SqlDb } from './sql.js';

// Versioned schema, applied in order at start inside one transaction under an
// advisory lock, so two Clouds starting on one database never apply a step twice.
// A database whose version is above the newest here was written by newer code:
// it is refused, never downgraded or guessed at.

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'connections state, operator queue and approvals',
    sql: `
CREATE TABLE enroll_tokens (
  token_hash text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  created_ms bigint NOT NULL,
  expires_ms bigint NOT NULL,
  used_ms bigint,
  runtime_id text UNIQUE,
  -- one use per token: used exactly when it names the runtime it made
  CHECK ((used_ms IS NULL) = (runtime_id IS NULL))
);
CREATE TABLE runtimes (
  runtime_id text PRIMARY KEY,
  key_id text NOT NULL UNIQUE, -- one runtime per key
  public_key_pem text NOT NULL,
  labels text NOT NULL,
  version text NOT NULL,
  host text NOT NULL,
  enrolled_ms bigint NOT NULL,
  next_seq integer NOT NULL DEFAULT 0,
  last_seen_ms bigint NOT NULL,
  dropped_ms bigint
);
CREATE TABLE work (
  work_id text PRIMARY KEY,
  runtime_id text NOT NULL REFERENCES runtimes (runtime_id),
  seq integer NOT NULL,
  ask_id text,
  attempt integer CHECK (attempt >= 1),
  session_id text,
  reply_to text,
  item text NOT NULL,
  created_ms bigint NOT NULL,
  state text NOT NULL CHECK (state IN ('queued', 'claimed', 'completed', 'failed', 'control')),
  lease_id text,
  claimed_ms bigint,
  lease_expires_ms bigint,
  ended_ms bigint,
  outcome text,
  UNIQUE (runtime_id, seq),
  UNIQUE (runtime_id, reply_to), -- one answer per runtime message, whichever Cloud answers
  CHECK ((ask_id IS NULL) = (attempt IS NULL)),
  CHECK ((state = 'control') = (ask_id IS NULL)),
  CHECK (state <> 'claimed' OR (lease_id IS NOT NULL AND lease_expires_ms IS NOT NULL))
);
-- one claim per (Ask, attempt), ever: a dispatch once claimed keeps claimed_ms
CREATE UNIQUE INDEX work_one_claim_per_attempt ON work (ask_id, attempt) WHERE claimed_ms IS NOT NULL;
-- and never two live claims of one Ask, whatever the attempt
CREATE UNIQUE INDEX work_one_live_claim ON work (ask_id) WHERE state = 'claimed';
CREATE INDEX work_lease_expiry ON work (lease_expires_ms) WHERE state = 'claimed';
CREATE INDEX work_session ON work (session_id) WHERE session_id IS NOT NULL;
CREATE INDEX work_pending ON work (runtime_id, seq) WHERE state IN ('queued', 'claimed', 'control');
CREATE TABLE evidence (
  seq bigserial PRIMARY KEY,
  runtime_id text NOT NULL REFERENCES runtimes (runtime_id),
  record_id text NOT NULL,
  kind text NOT NULL,
  msg_type text,
  session_id text,
  received_ms bigint NOT NULL,
  record text NOT NULL,
  UNIQUE (runtime_id, record_id) -- one record per record id
);
CREATE INDEX evidence_session ON evidence (session_id, seq) WHERE session_id IS NOT NULL;
CREATE INDEX evidence_enroll ON evidence (runtime_id, seq) WHERE msg_type = 'runtime.enroll';
-- Evidence is appended, never changed: the database refuses it, whoever asks.
CREATE FUNCTION evidence_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'evidence is append-only' USING ERRCODE = 'P0001';
END
$$;
CREATE TRIGGER evidence_append_only BEFORE UPDATE OR DELETE ON evidence FOR EACH ROW EXECUTE FUNCTION evidence_append_only();
CREATE TABLE nonces (
  runtime_id text NOT NULL,
  nonce text NOT NULL,
  expires_ms bigint NOT NULL,
  PRIMARY KEY (runtime_id, nonce)
);
CREATE INDEX nonces_expiry ON nonces (expires_ms);
CREATE TABLE asks (
  ask_id text PRIMARY KEY,
  ask text NOT NULL,
  submitted_ms bigint NOT NULL,
  state text NOT NULL CHECK (state IN ('queued', 'running', 'paused', 'done')),
  owner text,
  lease_expires_ms bigint,
  runs integer NOT NULL DEFAULT 0,
  outcome text,
  done_ms bigint,
  CHECK ((state = 'running') = (owner IS NOT NULL AND lease_expires_ms IS NOT NULL)),
  CHECK ((state = 'done') = (outcome IS NOT NULL))
);
CREATE INDEX asks_queue ON asks (submitted_ms) WHERE state IN ('queued', 'running');
CREATE TABLE approvals (
  approval_id text PRIMARY KEY,
  ask_id text NOT NULL REFERENCES asks (ask_id),
  run_id text NOT NULL,
  requested_ms bigint NOT NULL,
  expires_ms bigint NOT NULL,
  snapshot text NOT NULL,
  state text NOT NULL CHECK (state IN ('pending', 'settled')),
  answer text,
  answered_ms bigint,
  settled text,
  CHECK ((state = 'settled') = (settled IS NOT NULL))
);
CREATE INDEX approvals_pending ON approvals (requested_ms) WHERE state = 'pending';
`,
  },
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/**
 * Brings the database to {@link SCHEMA_VERSION}. Returns the versions applied.
 *
 * @throws {CloudError} SCHEMA_TOO_NEW when the database was migrated by newer code.
 */
export async function migrate(db: SqlDb, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  const latest = migrations[migrations.length - 1]?.version ?? 0;
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(7210014)');
    await tx.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_ms bigint NOT NULL)');
    const rows = await tx.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
    const current = Number(rows[0]?.v ?? 0);
    if (current > latest) {
      throw new CloudError('SCHEMA_TOO_NEW', `the database is at schema version ${current}, newer than this Cloud's ${latest}; run the Cloud version that wrote it, or restore a backup`);
    }
    const applied: number[] = [];
    for (const m of migrations) {
      if (m.version <= current) continue;
      await tx.exec(m.sql);
      await tx.query('INSERT INTO schema_migrations (version, name, applied_ms) VALUES ($1, $2, $3)', [m.version, m.name, Date.now()]);
      applied.push(m.version);
    }
    return applied;
  });
}
