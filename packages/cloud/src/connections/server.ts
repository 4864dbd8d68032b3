import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { z } from 'zod';
import {
  ClaimRequestSchema,
  DEFAULT_CLOCK_SKEW_MS,
  EnrollRequestSchema,
  EvidenceBatchSchema,
  LeaseRenewRequestSchema,
  MAX_ENROLL_BODY_BYTES,
  MAX_LONG_POLL_MS,
  MAX_REQUEST_BODY_BYTES,
  SIGNING_PURPOSES,
  buildRefusalSigningPayload,
  canonicalizeToBytes,
  formatIssuePath,
  parseStrictJson,
  parseStrictJsonBytes,
  systemClock,
} from '@lumenflow/protocol';
import type {
  ClaimRef,
  Clock,
  CloudToRuntimeMessage,
  ConnectionErrorCode,
  DispatchBody,
  EnrollResponse,
  EvidenceAck,
  EvidenceRecord,
  RuntimeToCloudMessage,
  WorkItem,
} from '@lumenflow/protocol';
import { computeKeyId, encodePublicKeyDer, parsePublicKeyPem, verifyEd25519 } from '@lumenflow/verifier';
import type { SigningKey } from '@lumenflow/verifier';
import { checkMessageSignature } from '../message-signature.js';
import { readFileIfExists } from './atomic-file.js';
import { TokenRecordSchema, hashEnrollToken, tokenRecordPath } from './enroll-token.js';
import type { TokenRecord } from './enroll-token.js';
import { openNonceJournal } from './nonce-journal.js';
import { authenticateRequest, createNonceCache, precheckRequest } from './request-auth.js';
import { loadState, parseStateFile, saveStateFile, statePaths } from './state-store.js';
import type { RuntimeRecord, StoredEvidence, WorkRecord } from './state-store.js';

export interface ConnectionsServerOptions {
  /** Where state lives; it survives a restart. */
  dataDir: string;
  /** Cloud's key: it signs every dispatch, and runtimes pin it at enrollment. */
  signingKey: SigningKey;
  clock?: Clock;
  /** Lease length of a claim; the runtime renews at a third of it. */
  leaseMs?: number;
  heartbeatIntervalMs?: number;
  /** After this many missed heartbeats a runtime is lost. */
  missedHeartbeats?: number;
  /** Attempts per Ask; when a lease expires before this is reached, the dispatch is sent again. */
  maxAttempts?: number;
  skewMs?: number;
  maxBodyBytes?: number;
  /** Open sockets at once (server.maxConnections); more are closed on accept. Default 1024. */
  maxConnections?: number;
  /**
   * Requests whose body is being read before its signature could be checked, in
   * total (default 256), per runtime id named in the headers (default 8), of
   * enrollments (bodies of at most 16 KiB, default 64), and their declared bytes
   * in total (default 32 MiB). Over a bound: 503 BUSY, nothing read.
   */
  maxUnverifiedRequests?: number;
  maxUnverifiedPerCaller?: number;
  maxUnverifiedEnrollments?: number;
  maxUnverifiedBytes?: number;
  /** Time to receive a whole body once the headers are in (default 10 s): 408 BODY_TIMEOUT after it. */
  bodyTimeoutMs?: number;
  /** Time to receive the headers (server.headersTimeout, default 10 s). */
  headersTimeoutMs?: number;
  /**
   * How long an idle kept-alive socket stays open (default 10 s). Cloud advertises
   * half of it in `Keep-Alive: timeout=`, so a client that honours the hint closes
   * its idle socket well before Cloud does (the reuse race).
   */
  keepAliveTimeoutMs?: number;
  /** Fresh ids; random by default. */
  newId?: (prefix: string) => string;
  /** Structured events: refusals, enrollments, claims, lease expiry, lost runtimes. Never secrets. */
  log?: (event: string, fields: Record<string, unknown>) => void;
}

export type RuntimeStatus = 'online' | 'lost';

export interface RuntimeSummary {
  runtimeId: string;
  keyId: string;
  publicKeyPem: string;
  labels: string[];
  status: RuntimeStatus;
  lastSeenAt: string;
}

export interface WorkSummary {
  workId: string;
  runtimeId: string;
  claim: ClaimRef | null;
  sessionId: string | null;
  state: WorkRecord['state'];
  createdAt: string;
  claimedAt: string | null;
  endedAt: string | null;
  outcome: string | null;
}

/** A verified, stored evidence record, announced once per record id. */
export interface AcceptedRecord {
  runtimeId: string;
  record: EvidenceRecord;
}

export interface ConnectionsServer {
  /** Listens on 127.0.0.1 only. Port 0 picks a free port. */
  listen(port: number): Promise<{ url: string; port: number }>;
  close(): Promise<void>;
  /**
   * Queues a signed dispatch for one runtime. A `session.open` needs a claim
   * on (askId, attempt) before the runtime may act on it.
   */
  dispatch(runtimeId: string, message: CloudToRuntimeMessage, opts?: { attempt?: number }): Promise<WorkSummary>;
  /** Subscribes to verified evidence records, in the order they were stored. Returns an unsubscribe function. */
  onRecord(listener: (accepted: AcceptedRecord) => void): () => void;
  /** Subscribes to claimed dispatches that ended: completed by the runtime, or failed when the lease expired. */
  onWorkEnded(listener: (work: WorkSummary) => void): () => void;
  /** Expires leases and marks runtimes lost, as of the injected clock. Runs on a timer while listening. */
  sweep(): Promise<void>;
  listRuntimes(): RuntimeSummary[];
  /** Whether a runtime is enrolled and online now (not lost): what Cloud dispatches to. */
  isRuntimeOnline(runtimeId: string): boolean;
  getWork(workId: string): WorkSummary | undefined;
  /** Every stored record of a runtime, oldest first. */
  listEvidence(runtimeId: string): StoredEvidence[];
  /** The Cloud key runtimes pin. */
  readonly cloudKeyId: string;
  /** State files that did not parse at start and were left out. */
  readonly skippedFiles: readonly string[];
  /** Requests being read before their signature was checked, and their declared bytes. */
  admission(): { unverifiedRequests: number; unverifiedBytes: number };
}

/** The admission caller of enrollments: runtime ids start with `rt-`, so it names none of them. */
const ENROLL_CALLER = ' enroll';

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

/**
 * Opens the Connections control plane on a data directory: enrollment with
 * one-time tokens, signed requests, heartbeats, signed dispatch by long-poll,
 * claims with leases, and evidence receipts deduplicated by record id.
 */
export async function openConnectionsServer(opts: ConnectionsServerOptions): Promise<ConnectionsServer> {
  const clock = opts.clock ?? systemClock;
  const leaseMs = opts.leaseMs ?? 30_000;
  const heartbeatIntervalMs = opts.heartbeatIntervalMs ?? 5_000;
  const missedHeartbeats = opts.missedHeartbeats ?? 3;
  const maxAttempts = opts.maxAttempts ?? 1;
  const skewMs = opts.skewMs ?? DEFAULT_CLOCK_SKEW_MS;
  const maxBodyBytes = opts.maxBodyBytes ?? MAX_REQUEST_BODY_BYTES;
  const maxConnections = opts.maxConnections ?? 1024;
  const maxUnverifiedRequests = opts.maxUnverifiedRequests ?? 256;
  const maxUnverifiedPerCaller = opts.maxUnverifiedPerCaller ?? 8;
  const maxUnverifiedEnrollments = opts.maxUnverifiedEnrollments ?? 64;
  const maxUnverifiedBytes = opts.maxUnverifiedBytes ?? 32 * 1024 * 1024;
  const bodyTimeoutMs = opts.bodyTimeoutMs ?? 10_000;
  const headersTimeoutMs = opts.headersTimeoutMs ?? 10_000;
  const keepAliveTimeoutMs = opts.keepAliveTimeoutMs ?? 10_000;
  const newId = opts.newId ?? ((prefix: string) => `${prefix}-${randomBytes(8).toString('hex')}`);
  const log = opts.log ?? (() => undefined);
  const paths = statePaths(opts.dataDir);
  const nowMs = (): number => clock.now().getTime();
  const iso = (ms: number): string => new Date(ms).toISOString();
  // Lost: silent for `missedHeartbeats` intervals, or its long-poll connection dropped (the
  // process stopped) and it has not spoken again within one reconnect grace. A runtime keeps a
  // poll open whenever it is idle, so a stopped one is found in about a second, not three intervals.
  const reconnectGraceMs = Math.min(1_000, heartbeatIntervalMs);
  const droppedAt = new Map<string, number>();
  const isLost = (runtimeId: string, lastSeenMs: number, now: number): boolean => {
    const dropped = droppedAt.get(runtimeId);
    return now - lastSeenMs > heartbeatIntervalMs * missedHeartbeats || (dropped !== undefined && now - dropped > reconnectGraceMs);
  };

  const loaded = await loadState(opts.dataDir);
  for (const path of loaded.skipped) log('state.file-skipped', { path });
  const startedAtMs = nowMs();

  const runtimes = new Map<string, RuntimeRecord & { publicKey: Uint8Array }>();
  const runtimeByKeyId = new Map<string, string>();
  const lastSeen = new Map<string, number>();
  const lostNow = new Set<string>();
  for (const record of loaded.runtimes) {
    let publicKey: Uint8Array;
    try {
      publicKey = parsePublicKeyPem(record.publicKeyPem);
    } catch {
      log('state.file-skipped', { path: paths.runtime(record.runtimeId), why: 'key' });
      continue;
    }
    if (computeKeyId(encodePublicKeyDer(publicKey)) !== record.keyId) continue;
    runtimes.set(record.runtimeId, { ...record, publicKey });
    runtimeByKeyId.set(record.keyId, record.runtimeId);
    // A restart is not a missed heartbeat: every runtime gets a fresh grace period.
    lastSeen.set(record.runtimeId, startedAtMs);
  }

  const work = new Map<string, WorkRecord>();
  const queues = new Map<string, WorkRecord[]>();
  const sessionWork = new Map<string, WorkRecord>();
  for (const record of [...loaded.work].sort((a, b) => a.seq - b.seq)) {
    if (!runtimes.has(record.runtimeId)) continue;
    indexWork(record);
  }
  function indexWork(record: WorkRecord): void {
    work.set(record.workId, record);
    const queue = queues.get(record.runtimeId) ?? [];
    queue.push(record);
    queues.set(record.runtimeId, queue);
    if (record.sessionId !== null && record.claim !== null) sessionWork.set(record.sessionId, record);
  }

  const evidence = new Map<string, StoredEvidence[]>();
  const seenRecords = new Set<string>();
  for (const stored of loaded.evidence) {
    const key = `${stored.runtimeId}/${stored.record.recordId}`;
    if (seenRecords.has(key)) continue;
    const list = evidence.get(stored.runtimeId) ?? [];
    list.push(stored);
    evidence.set(stored.runtimeId, list);
    seenRecords.add(key);
  }
  const batchSeq = new Map<string, number>();
  for (const [runtimeId, list] of evidence) batchSeq.set(runtimeId, list.length);
  // Records being written now: a concurrent resend waits for the outcome instead of acking early.
  const inflightRecords = new Map<string, Promise<void>>();

  const nonces = createNonceCache();
  const nonceJournal = await openNonceJournal(opts.dataDir, nonces, startedAtMs);
  const pendingTokens = new Set<string>();
  const pendingKeys = new Set<string>();
  const waiters = new Map<string, Set<() => void>>();
  // Bodies being read before any signature vouches for them: bounded in count, per caller and in bytes.
  let unverifiedRequests = 0;
  let unverifiedBytes = 0;
  const unverifiedByCaller = new Map<string, number>();
  const admit = (caller: string, bytes: number): (() => void) | undefined => {
    const mine = unverifiedByCaller.get(caller) ?? 0;
    const callerCap = caller === ENROLL_CALLER ? maxUnverifiedEnrollments : maxUnverifiedPerCaller;
    if (unverifiedRequests >= maxUnverifiedRequests || mine >= callerCap || unverifiedBytes + bytes > maxUnverifiedBytes) return undefined;
    unverifiedRequests++;
    unverifiedBytes += bytes;
    unverifiedByCaller.set(caller, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      unverifiedRequests--;
      unverifiedBytes -= bytes;
      const left = (unverifiedByCaller.get(caller) ?? 1) - 1;
      if (left === 0) unverifiedByCaller.delete(caller);
      else unverifiedByCaller.set(caller, left);
    };
  };
  const recordListeners = new Set<(accepted: AcceptedRecord) => void>();
  const endedListeners = new Set<(work: WorkSummary) => void>();

  const summarise = (record: WorkRecord): WorkSummary => ({
    workId: record.workId,
    runtimeId: record.runtimeId,
    claim: record.claim,
    sessionId: record.sessionId,
    state: record.state,
    createdAt: record.createdAt,
    claimedAt: record.lease?.claimedAt ?? null,
    endedAt: record.endedAt,
    outcome: record.outcome,
  });

  const wake = (runtimeId: string): void => {
    const set = waiters.get(runtimeId);
    if (set === undefined) return;
    waiters.delete(runtimeId);
    for (const fn of set) fn();
  };

  const nextSeq = (runtimeId: string): number => {
    const queue = queues.get(runtimeId);
    return (queue?.[queue.length - 1]?.seq ?? 0) + 1;
  };

  const nextAttempt = (askId: string): number => {
    let max = 0;
    for (const record of work.values()) {
      if (record.claim?.askId === askId && (record.state === 'completed' || record.state === 'failed')) max = Math.max(max, record.claim.attempt);
    }
    return max + 1;
  };

  // Work for one runtime is created one at a time, so its sequence numbers are never shared
  // and become visible in order; different runtimes do not wait for each other.
  const dispatchChains = new Map<string, Promise<unknown>>();
  const dispatch = (runtimeId: string, message: CloudToRuntimeMessage, dopts: { attempt?: number } = {}): Promise<WorkSummary> => {
    const next = (dispatchChains.get(runtimeId) ?? Promise.resolve()).then(async () => {
      if (!runtimes.has(runtimeId)) throw new RangeError(`dispatch: no enrolled runtime ${runtimeId}`);
      const claim: ClaimRef | null = message.type === 'session.open' ? { askId: message.ask.askId, attempt: dopts.attempt ?? nextAttempt(message.ask.askId) } : null;
      const workId = newId('work');
      const seq = nextSeq(runtimeId);
      const issuedAt = iso(nowMs());
      const body: DispatchBody = { purpose: SIGNING_PURPOSES.dispatch, workId, seq, runtimeId, claim, issuedAt, message };
      const bytes = canonicalizeToBytes(body);
      const item: WorkItem = {
        workId,
        seq,
        claim,
        payload: Buffer.from(bytes).toString('base64'),
        signature: { keyId: opts.signingKey.keyId, value: Buffer.from(opts.signingKey.sign(bytes)).toString('base64') },
      };
      const record: WorkRecord = {
        workId,
        runtimeId,
        seq,
        claim,
        sessionId: message.type === 'session.open' ? message.sessionId : null,
        item,
        createdAt: issuedAt,
        state: claim === null ? 'control' : 'queued',
        lease: null,
        endedAt: null,
        outcome: null,
      };
      await saveStateFile(paths.work(workId), record);
      indexWork(record);
      log('work.dispatched', { workId, runtimeId, type: message.type, ...(claim === null ? {} : claim) });
      wake(runtimeId);
      return summarise(record);
    });
    const settled = next.catch(() => undefined);
    dispatchChains.set(runtimeId, settled);
    void settled.then(() => {
      if (dispatchChains.get(runtimeId) === settled) dispatchChains.delete(runtimeId);
    });
    return next;
  };

  const endWork = async (record: WorkRecord, state: 'completed' | 'failed', outcome: string): Promise<void> => {
    record.state = state;
    record.endedAt = iso(nowMs());
    record.outcome = outcome;
    await saveStateFile(paths.work(record.workId), record);
    log('work.ended', { workId: record.workId, state, outcome, ...(record.claim ?? {}) });
    const summary = summarise(record);
    for (const listener of endedListeners) listener(summary);
  };

  const sweep = async (): Promise<void> => {
    const now = nowMs();
    for (const [runtimeId, seen] of lastSeen) {
      const lost = isLost(runtimeId, seen, now);
      if (lost && !lostNow.has(runtimeId)) log('runtime.lost', { runtimeId, lastSeenAt: iso(seen) });
      if (lost) lostNow.add(runtimeId);
      else lostNow.delete(runtimeId);
    }
    for (const record of [...work.values()]) {
      if (record.state !== 'claimed' || record.lease === null || Date.parse(record.lease.expiresAt) >= now) continue;
      await endWork(record, 'failed', 'LEASE_EXPIRED');
      const opened = decodeDispatch(record.item);
      if (record.claim !== null && record.claim.attempt < maxAttempts && opened?.message.type === 'session.open') {
        await dispatch(record.runtimeId, opened.message, { attempt: record.claim.attempt + 1 });
      }
    }
  };

  // ---- HTTP ----

  const routes: Record<string, (ctx: RouteContext) => Promise<Reply>> = {
    'POST /v1/enroll': (ctx) => enroll(ctx),
    'POST /v1/heartbeat': async () => ({ status: 200, body: { status: 'online', serverTime: iso(nowMs()) } }),
    'GET /v1/work': (ctx) => pollWork(ctx),
    'POST /v1/claims': (ctx) => claimWork(ctx),
    'POST /v1/leases': (ctx) => renewLease(ctx),
    'POST /v1/evidence': (ctx) => ingestEvidence(ctx),
  };

  interface RouteContext {
    runtimeId: string;
    body: Uint8Array;
    query: URLSearchParams;
    req: IncomingMessage;
    res: ServerResponse;
  }
  interface Reply {
    status: number;
    body: unknown;
  }
  const fail = (status: number, code: ConnectionErrorCode, message: string): Reply => ({ status, body: { error: { code, message } } });

  const parseBody = <T>(body: Uint8Array, schema: z.ZodType<T>): T | Reply => {
    let value: unknown;
    try {
      value = parseStrictJsonBytes(body);
    } catch {
      return fail(400, 'BAD_JSON', 'the body is not strict JSON');
    }
    const result = schema.safeParse(value);
    if (!result.success) {
      const issue = result.error.issues[0];
      return fail(400, 'SCHEMA_INVALID', `invalid at ${formatIssuePath(issue?.path ?? [])}`);
    }
    return result.data;
  };
  const isReply = (value: unknown): value is Reply =>
    typeof value === 'object' && value !== null && 'status' in value && 'body' in value && Object.keys(value).length === 2;

  const enroll = async (ctx: RouteContext): Promise<Reply> => {
    const request = parseBody(ctx.body, EnrollRequestSchema);
    if (isReply(request)) return request;
    const tokenHash = hashEnrollToken(request.token);
    // Two enrollments racing on one token: the second waits for nothing and is refused.
    if (pendingTokens.has(tokenHash)) return fail(401, 'TOKEN_USED', 'the enrollment token was already used');
    pendingTokens.add(tokenHash);
    let reservedKey: string | undefined;
    try {
      const text = await readFileIfExists(tokenRecordPath(opts.dataDir, tokenHash));
      const token = parseStateFile(text, TokenRecordSchema);
      if (token === undefined) return fail(401, 'TOKEN_INVALID', 'unknown enrollment token');
      if (token.usedAt !== null) return fail(401, 'TOKEN_USED', 'the enrollment token was already used');
      if (Date.parse(token.expiresAt) <= nowMs()) return fail(401, 'TOKEN_EXPIRED', 'the enrollment token expired');
      let publicKey: Uint8Array;
      try {
        publicKey = parsePublicKeyPem(request.publicKeyPem);
      } catch {
        return fail(400, 'KEY_INVALID', 'publicKeyPem is not one strict Ed25519 SPKI PEM key');
      }
      const keyId = computeKeyId(encodePublicKeyDer(publicKey));
      // Checked and reserved in one synchronous step: enrollments of one key with several tokens
      // race across the awaits below, and only the first may make a runtime.
      if (runtimeByKeyId.has(keyId) || pendingKeys.has(keyId)) return fail(409, 'KEY_ALREADY_ENROLLED', 'this key is already enrolled');
      pendingKeys.add(keyId);
      reservedKey = keyId;
      const runtimeId = newId('rt');
      const enrolledAt = iso(nowMs());
      // Burn the token before the runtime exists: a crash in between leaves no usable token, never two runtimes.
      await saveStateFile(tokenRecordPath(opts.dataDir, tokenHash), { ...token, usedAt: enrolledAt, runtimeId } satisfies TokenRecord);
      const record: RuntimeRecord = {
        runtimeId,
        keyId,
        publicKeyPem: request.publicKeyPem,
        labels: [...request.labels],
        version: request.version,
        host: request.host,
        enrolledAt,
      };
      await saveStateFile(paths.runtime(runtimeId), record);
      runtimes.set(runtimeId, { ...record, publicKey });
      runtimeByKeyId.set(keyId, runtimeId);
      lastSeen.set(runtimeId, nowMs());
      log('runtime.enrolled', { runtimeId, keyId, labels: record.labels });
      const response: EnrollResponse = {
        runtimeId,
        keyId,
        cloudPublicKeyPem: opts.signingKey.publicKeyPem,
        cloudKeyId: opts.signingKey.keyId,
        heartbeatIntervalMs,
        leaseMs,
      };
      return { status: 201, body: response };
    } finally {
      pendingTokens.delete(tokenHash);
      if (reservedKey !== undefined) pendingKeys.delete(reservedKey);
    }
  };

  const deliverable = (runtimeId: string, after: number): WorkItem[] =>
    (queues.get(runtimeId) ?? [])
      .filter((r) => r.seq > after && r.state !== 'completed' && r.state !== 'failed')
      .slice(0, 100)
      .map((r) => r.item);

  const pollWork = async (ctx: RouteContext): Promise<Reply> => {
    const after = Number(ctx.query.get('after') ?? '0');
    const wait = Number(ctx.query.get('wait') ?? '0');
    if (!Number.isSafeInteger(after) || after < 0 || !Number.isSafeInteger(wait) || wait < 0) return fail(400, 'SCHEMA_INVALID', 'after and wait must be non-negative integers');
    let items = deliverable(ctx.runtimeId, after);
    if (items.length === 0 && wait > 0) {
      await new Promise<void>((resolve) => {
        const set = waiters.get(ctx.runtimeId) ?? new Set();
        const done = (): void => {
          clearTimeout(timer);
          set.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(wait, MAX_LONG_POLL_MS));
        set.add(done);
        waiters.set(ctx.runtimeId, set);
        // Before the answer is written, a closed response means the runtime's connection dropped.
        ctx.res.once('close', () => {
          if (!ctx.res.writableEnded) droppedAt.set(ctx.runtimeId, nowMs());
          done();
        });
      });
      items = deliverable(ctx.runtimeId, after);
    }
    if (items.length > 0) log('work.delivered', { runtimeId: ctx.runtimeId, workIds: items.map((i) => i.workId) });
    return { status: 200, body: { items } };
  };

  const claimWork = async (ctx: RouteContext): Promise<Reply> => {
    const request = parseBody(ctx.body, ClaimRequestSchema);
    if (isReply(request)) return request;
    const record = work.get(request.workId);
    if (record === undefined || record.runtimeId !== ctx.runtimeId || record.claim === null) return fail(404, 'WORK_UNKNOWN', 'no claimable dispatch with that id');
    if (record.claim.askId !== request.askId || record.claim.attempt !== request.attempt) return fail(409, 'CLAIM_CONFLICT', 'the claim names another Ask or attempt');
    const now = nowMs();
    if (record.state === 'claimed' && record.lease !== null && Date.parse(record.lease.expiresAt) >= now) {
      // Idempotent: the same runtime claiming the same (askId, attempt) again gets the lease it holds.
      return { status: 200, body: { leaseId: record.lease.leaseId, expiresAt: record.lease.expiresAt } };
    }
    if (record.state !== 'queued') return fail(409, 'CLAIM_CONFLICT', `the dispatch is ${record.state}`);
    for (const other of work.values()) {
      if (other !== record && other.claim?.askId === request.askId && other.state === 'claimed') {
        return fail(409, 'CLAIM_CONFLICT', 'the Ask is already claimed');
      }
    }
    record.state = 'claimed';
    record.lease = { leaseId: newId('lease'), claimedAt: iso(now), expiresAt: iso(now + leaseMs) };
    await saveStateFile(paths.work(record.workId), record);
    log('work.claimed', { workId: record.workId, runtimeId: ctx.runtimeId, ...record.claim });
    return { status: 201, body: { leaseId: record.lease.leaseId, expiresAt: record.lease.expiresAt } };
  };

  const renewLease = async (ctx: RouteContext): Promise<Reply> => {
    const request = parseBody(ctx.body, LeaseRenewRequestSchema);
    if (isReply(request)) return request;
    const now = nowMs();
    for (const record of work.values()) {
      if (record.runtimeId !== ctx.runtimeId || record.claim?.askId !== request.askId || record.claim.attempt !== request.attempt) continue;
      if (record.state !== 'claimed' || record.lease?.leaseId !== request.leaseId || Date.parse(record.lease.expiresAt) < now) break;
      record.lease = { ...record.lease, expiresAt: iso(now + leaseMs) };
      await saveStateFile(paths.work(record.workId), record);
      return { status: 200, body: { expiresAt: record.lease.expiresAt } };
    }
    return fail(409, 'LEASE_LOST', 'the lease is not held; stop the work');
  };

  const checkRecord = (runtime: RuntimeRecord & { publicKey: Uint8Array }, record: EvidenceRecord): 'ok' | 'BAD_RECORD_SIGNATURE' | 'WRONG_RUNTIME' => {
    if (record.kind === 'dispatch-refusal') {
      if (record.runtimeId !== runtime.runtimeId) return 'WRONG_RUNTIME';
      if (record.signature.keyId !== runtime.keyId) return 'BAD_RECORD_SIGNATURE';
      const { signature, ...unsigned } = record;
      return verifyEd25519(new Uint8Array(Buffer.from(signature.value, 'base64')), buildRefusalSigningPayload(unsigned), runtime.publicKey) ? 'ok' : 'BAD_RECORD_SIGNATURE';
    }
    const message = record.message;
    if (record.recordId !== message.messageId) return 'WRONG_RUNTIME';
    if (!checkMessageSignature(message, runtime)) return 'BAD_RECORD_SIGNATURE';
    if (message.type === 'runtime.enroll') {
      // The handshake message must speak for the runtime this connection enrolled, with that same key.
      if (message.runtimeId !== runtime.runtimeId || message.publicKeyPem !== runtime.publicKeyPem) return 'WRONG_RUNTIME';
      return 'ok';
    }
    const session = sessionWork.get(message.sessionId);
    if (session === undefined || session.runtimeId !== runtime.runtimeId) return 'WRONG_RUNTIME';
    return 'ok';
  };

  const ingestEvidence = async (ctx: RouteContext): Promise<Reply> => {
    const batch = parseBody(ctx.body, EvidenceBatchSchema);
    if (isReply(batch)) return batch;
    const runtime = runtimes.get(ctx.runtimeId);
    if (runtime === undefined) return fail(401, 'UNKNOWN_RUNTIME', 'unknown runtime');
    const ack: EvidenceAck = { acked: [], rejected: [] };
    const fresh: EvidenceRecord[] = [];
    const freshKeys = new Set<string>();
    for (const record of batch.records) {
      const key = `${runtime.runtimeId}/${record.recordId}`;
      const inflight = inflightRecords.get(key);
      if (inflight !== undefined) await inflight.catch(() => undefined);
      if (seenRecords.has(key) || freshKeys.has(key)) {
        ack.acked.push(record.recordId);
        continue;
      }
      // Each check is a strict Ed25519 verification (about a millisecond of CPU): yield between
      // them so that claims and heartbeats are not queued behind a long evidence batch.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const verdict = checkRecord(runtime, record);
      if (verdict !== 'ok') {
        log('evidence.rejected', { runtimeId: runtime.runtimeId, recordId: record.recordId, code: verdict });
        ack.rejected.push({ recordId: record.recordId, code: verdict });
        continue;
      }
      fresh.push(record);
      freshKeys.add(key);
    }
    if (fresh.length === 0) return { status: 200, body: ack };
    // Group commit: the batch's new records go to disk in one file and one fsync, before any is acknowledged.
    const receivedAt = iso(nowMs());
    const seq = (batchSeq.get(runtime.runtimeId) ?? 0) + 1;
    batchSeq.set(runtime.runtimeId, seq);
    const write = saveStateFile(paths.evidenceBatch(runtime.runtimeId, `${String(seq).padStart(12, '0')}-${randomBytes(4).toString('hex')}`), {
      runtimeId: runtime.runtimeId,
      receivedAt,
      records: fresh,
    });
    for (const key of freshKeys) inflightRecords.set(key, write);
    try {
      await write;
    } finally {
      for (const key of freshKeys) inflightRecords.delete(key);
    }
    const list = evidence.get(runtime.runtimeId) ?? [];
    evidence.set(runtime.runtimeId, list);
    for (const record of fresh) {
      seenRecords.add(`${runtime.runtimeId}/${record.recordId}`);
      list.push({ runtimeId: runtime.runtimeId, receivedAt, record });
      ack.acked.push(record.recordId);
    }
    for (const record of fresh) {
      if (record.kind === 'runtime-message') await closeClaim(runtime.runtimeId, record.message);
      for (const listener of recordListeners) listener({ runtimeId: runtime.runtimeId, record });
    }
    return { status: 200, body: ack };
  };

  const closeClaim = async (runtimeId: string, message: RuntimeToCloudMessage): Promise<void> => {
    if (message.type !== 'session.ended') return;
    const record = sessionWork.get(message.sessionId);
    if (record === undefined || record.runtimeId !== runtimeId || record.state === 'completed' || record.state === 'failed') return;
    await endWork(record, 'completed', message.outcome);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const routeKey = `${req.method ?? 'GET'} ${url.pathname}`;
    const route = Object.hasOwn(routes, routeKey) ? routes[routeKey] : undefined;
    if (route === undefined) {
      const known = Object.keys(routes).some((k) => k.endsWith(` ${url.pathname}`));
      return reply(res, known ? fail(405, 'METHOD_NOT_ALLOWED', 'method not allowed') : fail(404, 'NOT_FOUND', 'no such endpoint'), true);
    }
    const refuse = (status: number, code: ConnectionErrorCode, message: string, fields: Record<string, unknown> = {}): void => {
      log('request.refused', { code, method: req.method, path: url.pathname, ...fields });
      // Nothing of the body was read: close the socket rather than drain it.
      reply(res, fail(status, code, message), true);
    };
    const enrolling = routeKey === 'POST /v1/enroll';
    // Bodies come with a declared length, checked before a byte is buffered.
    if (req.headers['transfer-encoding'] !== undefined) return refuse(411, 'LENGTH_REQUIRED', 'send a content-length; chunked bodies are not accepted');
    const lengthHeader = req.headers['content-length'] ?? '0';
    if (!/^\d{1,10}$/.test(lengthHeader)) return refuse(400, 'SCHEMA_INVALID', 'content-length is not a number');
    const declared = Number(lengthHeader);
    const cap = enrolling ? MAX_ENROLL_BODY_BYTES : maxBodyBytes;
    if (declared > cap) return refuse(413, 'BODY_TOO_LARGE', `bodies are capped at ${cap} bytes`);
    // Before the body: a signed route needs a known runtime and a fresh timestamp in the headers.
    let caller = ENROLL_CALLER;
    if (!enrolling) {
      const pre = precheckRequest(req.headers, { lookupKey: (id) => runtimes.get(id)?.publicKey, nowMs: nowMs(), skewMs, notBeforeMs: startedAtMs });
      if (!pre.ok) return refuse(401, pre.code, 'the request is not signed by an enrolled runtime, or is stale or replayed', { runtimeId: pre.runtimeId ?? null });
      caller = pre.runtimeId;
    }
    let body: Uint8Array | 'timeout' | 'too-large' = new Uint8Array(0);
    if (declared > 0) {
      const release = admit(caller, declared);
      if (release === undefined) {
        res.setHeader('retry-after', '1');
        return refuse(503, 'BUSY', 'too many requests are being read now; retry shortly', { caller });
      }
      try {
        body = await readBody(req, declared, bodyTimeoutMs);
      } finally {
        release();
      }
    }
    if (body === 'timeout') return refuse(408, 'BODY_TIMEOUT', `the body did not arrive within ${bodyTimeoutMs} ms`);
    if (body === 'too-large') return refuse(413, 'BODY_TOO_LARGE', 'the body is longer than its content-length');
    let runtimeId = '';
    if (!enrolling) {
      const auth = authenticateRequest(
        { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body },
        { lookupKey: (id) => runtimes.get(id)?.publicKey, nonces, nowMs: nowMs(), skewMs, notBeforeMs: startedAtMs },
      );
      if (!auth.ok) {
        log('request.refused', { code: auth.code, runtimeId: auth.runtimeId ?? null, method: req.method, path: url.pathname });
        return reply(res, fail(401, auth.code, 'the request is not signed by an enrolled runtime, or is stale or replayed'));
      }
      runtimeId = auth.runtimeId;
      // Signed ahead of Cloud's clock: the one kind of request a restart's not-before does not cover.
      if (auth.timestampMs >= nowMs()) await nonceJournal.record(runtimeId, auth.nonce, auth.timestampMs + skewMs);
      lastSeen.set(runtimeId, nowMs());
      droppedAt.delete(runtimeId);
      if (lostNow.delete(runtimeId)) log('runtime.back', { runtimeId });
    }
    reply(res, await route({ runtimeId, body, query: url.searchParams, req, res }));
  };

  let server: Server | undefined;
  let sweepTimer: NodeJS.Timeout | undefined;

  return {
    cloudKeyId: opts.signingKey.keyId,
    skippedFiles: loaded.skipped,
    listen: (port) =>
      new Promise((resolve, reject) => {
        const s = createServer((req, res) => {
          handle(req, res).catch((error: unknown) => {
            log('request.internal-error', { error: error instanceof Error ? error.name : 'unknown' });
            if (!res.headersSent) reply(res, fail(500, 'INTERNAL', 'internal error'));
            else res.destroy();
          });
        });
        s.on('clientError', (_error, socket) => socket.destroy());
        // Set deliberately, not left to Node's defaults: a socket count Cloud can hold, headers
        // that must arrive in time, and an idle keep-alive longer than the client's (see reply()).
        s.maxConnections = maxConnections;
        s.headersTimeout = headersTimeoutMs;
        s.requestTimeout = Math.max(bodyTimeoutMs, headersTimeoutMs) + 5_000;
        s.keepAliveTimeout = keepAliveTimeoutMs;
        s.maxHeadersCount = 64;
        s.once('error', reject);
        // Loopback only: this control plane is not meant to face a network in this cut.
        s.listen(port, '127.0.0.1', () => {
          server = s;
          const address = s.address() as AddressInfo;
          sweepTimer = setInterval(() => void sweep().catch(() => undefined), Math.max(50, Math.min(heartbeatIntervalMs, leaseMs) / 2));
          sweepTimer.unref();
          resolve({ url: `http://127.0.0.1:${address.port}`, port: address.port });
        });
      }),
    close: async () => {
      if (sweepTimer !== undefined) clearInterval(sweepTimer);
      for (const runtimeId of [...waiters.keys()]) wake(runtimeId);
      await Promise.all(dispatchChains.values());
      if (server === undefined) return;
      const s = server;
      server = undefined;
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
    },
    dispatch,
    onRecord: (listener) => {
      recordListeners.add(listener);
      return () => recordListeners.delete(listener);
    },
    onWorkEnded: (listener) => {
      endedListeners.add(listener);
      return () => endedListeners.delete(listener);
    },
    sweep,
    listRuntimes: () =>
      [...runtimes.values()].map((r) => {
        const seen = lastSeen.get(r.runtimeId) ?? startedAtMs;
        return {
          runtimeId: r.runtimeId,
          keyId: r.keyId,
          publicKeyPem: r.publicKeyPem,
          labels: [...r.labels],
          status: isLost(r.runtimeId, seen, nowMs()) ? 'lost' : 'online',
          lastSeenAt: iso(seen),
        };
      }),
    isRuntimeOnline: (runtimeId) => runtimes.has(runtimeId) && !isLost(runtimeId, lastSeen.get(runtimeId) ?? startedAtMs, nowMs()),
    getWork: (workId) => {
      const record = work.get(workId);
      return record === undefined ? undefined : summarise(record);
    },
    listEvidence: (runtimeId) => [...(evidence.get(runtimeId) ?? [])],
    admission: () => ({ unverifiedRequests, unverifiedBytes }),
  };
}

/** Parses the signed body of a work item without checking the signature (Cloud re-reads its own dispatches). */
function decodeDispatch(item: WorkItem): DispatchBody | undefined {
  try {
    return parseStrictJson(Buffer.from(item.payload, 'base64').toString('utf8')) as unknown as DispatchBody;
  } catch {
    return undefined;
  }
}

function keepAliveHintMs(res: ServerResponse): number {
  const server = (res.socket as (Socket & { server?: Server }) | null)?.server;
  return (server?.keepAliveTimeout ?? 10_000) / 2;
}

/** Reads exactly `length` bytes into one preallocated buffer, or gives up at the deadline. */
function readBody(req: IncomingMessage, length: number, timeoutMs: number): Promise<Uint8Array | 'timeout' | 'too-large'> {
  return new Promise((resolve, reject) => {
    const body = Buffer.allocUnsafe(length);
    let size = 0;
    const done = (value: Uint8Array | 'timeout' | 'too-large'): void => {
      clearTimeout(timer);
      req.removeAllListeners('data');
      resolve(value);
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    req.on('data', (chunk: Buffer) => {
      if (size + chunk.length > length) return done('too-large');
      chunk.copy(body, size);
      size += chunk.length;
    });
    req.on('end', () => done(size === length ? new Uint8Array(body.buffer, body.byteOffset, size) : 'too-large'));
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

function reply(res: ServerResponse, r: { status: number; body: unknown }, close = false): void {
  const text = JSON.stringify(r.body);
  // The hint is half of the real keep-alive timeout: a client that follows it drops an idle
  // socket seconds before Cloud closes it, so it never writes into a socket being closed.
  // A client that asked to close (or spoke HTTP/1.0) is not told to keep the socket.
  const keepAlive =
    close || !res.shouldKeepAlive ? { connection: 'close' } : { connection: 'keep-alive', 'keep-alive': `timeout=${Math.max(1, Math.floor(keepAliveHintMs(res) / 1000))}` };
  res.writeHead(r.status, { ...JSON_HEADERS, 'content-length': Buffer.byteLength(text), ...keepAlive });
  res.end(text, () => {
    if (close) res.socket?.destroy();
  });
}
