import { randomBytes } from 'node:crypto';
import { DEFAULT_CLOCK_SKEW_MS, MAX_REQUEST_BODY_BYTES, REQUEST_HEADERS, systemClock } from '@lumenflow/protocol';
import type { Clock, CloudToRuntimeMessage } from '@lumenflow/protocol';
import type { SigningKey } from '@lumenflow/verifier';
import { CHANNELS, openCloudStore } from '../store/cloud-store.js';
import type { CloudStore, EvidenceNotice, StoredEvidence, WorkRow } from '../store/cloud-store.js';
import { dispatchWork } from './dispatch.js';
import { OPERATOR_CALLER, createHttpAdapter } from './http-adapter.js';
import type { HttpAuth, RouteEntry } from './http-adapter.js';
import { sweepOnce } from './lease-sweep.js';
import { createStoreOperatorApi } from './operator-api.js';
import { checkOperatorToken, loadOrCreateOperatorToken, publishOperatorAddress, withdrawOperatorAddress } from './operator-address.js';
import { authenticateRequest, createNonceCache, precheckRequest } from './request-auth.js';
import { createRuntimeRegistry } from './runtime-registry.js';
import type { RuntimeSummary } from './runtime-registry.js';
import { claimRoute, renewLeaseRoute } from './routes/claims.js';
import { enrollRoute } from './routes/enroll.js';
import { evidenceRoute } from './routes/evidence.js';
import { operatorRoutes } from './routes/operator.js';
import { fail } from './routes/route-kit.js';
import { pollWorkRoute } from './routes/work.js';
import { summariseWork } from './server-context.js';
import type { AcceptedRecord, ServerContext, WorkSummary } from './server-context.js';
import { createWorkWaiters } from './work-waiters.js';

export interface ConnectionsServerOptions {
  /** The data directory: the embedded database (`db/`) unless `databaseUrl` or `store` is given, and the operator token. */
  dataDir: string;
  /** A Postgres server shared with other Cloud processes (`--database-url`). */
  databaseUrl?: string | undefined;
  /** An open store to use (not closed by `close`). */
  store?: CloudStore;
  /** Cloud's key: it signs every dispatch, and runtimes pin it at enrollment. Clouds on one database share it. */
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
  /** How long an idle kept-alive socket stays open (default 10 s); half of it is advertised. */
  keepAliveTimeoutMs?: number;
  /** Fresh ids; random by default. */
  newId?: (prefix: string) => string;
  /** Structured events: refusals, enrollments, claims, lease expiry, lost runtimes. Never secrets. */
  log?: (event: string, fields: Record<string, unknown>) => void;
}

export interface ConnectionsServer {
  /** Listens on 127.0.0.1 only. Port 0 picks a free port. Publishes the operator address in the data directory. */
  listen(port: number): Promise<{ url: string; port: number }>;
  close(): Promise<void>;
  /** Queues a signed dispatch for one runtime. A `session.open` needs a claim on (askId, attempt) before the runtime may act on it. */
  dispatch(runtimeId: string, message: CloudToRuntimeMessage, opts?: { attempt?: number }): Promise<WorkSummary>;
  /** Records this Cloud verified and stored, once per record id, in the order stored. Returns the unsubscribe. */
  onRecord(listener: (accepted: AcceptedRecord) => void): () => void;
  /**
   * Records stored by any Cloud on the database that `wants` asks for (by session or
   * enrollment), read from the evidence table when another Cloud stored them.
   */
  onStoredRecord(wants: (notice: Pick<EvidenceNotice, 'sessions' | 'enroll'>) => boolean, listener: (accepted: AcceptedRecord) => void): () => void;
  /** Claimed dispatches that ended here: completed by the runtime, or failed when the lease expired. */
  onWorkEnded(listener: (work: WorkSummary) => void): () => void;
  /** Expires leases and marks runtimes lost, as of the injected clock. Runs on a timer while listening. */
  sweep(): Promise<void>;
  listRuntimes(): RuntimeSummary[];
  /** Whether a runtime is enrolled and online now (not lost): what Cloud dispatches to. */
  isRuntimeOnline(runtimeId: string): boolean;
  getWork(workId: string): Promise<WorkSummary | undefined>;
  /** Every stored record of a runtime, oldest first. */
  listEvidence(runtimeId: string): Promise<StoredEvidence[]>;
  /** The newest `runtime.enroll` record of each runtime (a Cloud that starts learns the runtimes from them). */
  storedEnrollments(): Promise<StoredEvidence[]>;
  readonly store: CloudStore;
  /** The Cloud key runtimes pin. */
  readonly cloudKeyId: string;
  readonly instanceId: string;
  /** Requests being read before their signature was checked, and their declared bytes. */
  admission(): { unverifiedRequests: number; unverifiedBytes: number };
}

/**
 * Opens the Connections control plane on Cloud's store: enrollment with one-time
 * tokens, signed requests, heartbeats, signed dispatch by long-poll (woken by
 * NOTIFY), claims with leases, evidence receipts deduplicated by record id, and
 * the operator API. Several processes may share one Postgres database.
 *
 * @throws {CloudError} DATA_DIR_FILE_STATE, DATA_DIR_LOCKED, SCHEMA_TOO_NEW, DATABASE_UNREACHABLE.
 */
export async function openConnectionsServer(opts: ConnectionsServerOptions): Promise<ConnectionsServer> {
  const clock = opts.clock ?? systemClock;
  const store = opts.store ?? (await openCloudStore({ dataDir: opts.dataDir, databaseUrl: opts.databaseUrl }));
  const ownsStore = opts.store === undefined;
  const heartbeatIntervalMs = opts.heartbeatIntervalMs ?? 5_000;
  const leaseMs = opts.leaseMs ?? 30_000;
  const nowMs = (): number => clock.now().getTime();
  const startedAtMs = nowMs();
  const log = opts.log ?? (() => undefined);
  const recordListeners = new Set<(accepted: AcceptedRecord) => void>();
  const storedListeners = new Set<{ wants: (n: Pick<EvidenceNotice, 'sessions' | 'enroll'>) => boolean; listener: (accepted: AcceptedRecord) => void }>();
  const endedListeners = new Set<(work: WorkSummary) => void>();
  const waiters = createWorkWaiters();
  const ctx: ServerContext = {
    store,
    instanceId: `cloud-${randomBytes(6).toString('hex')}`,
    signingKey: opts.signingKey,
    nowMs,
    leaseMs,
    heartbeatIntervalMs,
    maxAttempts: opts.maxAttempts ?? 1,
    skewMs: opts.skewMs ?? DEFAULT_CLOCK_SKEW_MS,
    newId: opts.newId ?? ((prefix: string) => `${prefix}-${randomBytes(8).toString('hex')}`),
    log,
    runtimes: createRuntimeRegistry({ store, heartbeatIntervalMs, missedHeartbeats: opts.missedHeartbeats ?? 3, startedAtMs }),
    waiters,
    sessionOwners: new Map(),
    dispatch: (runtimeId, message, dopts) => dispatchWork(ctx, runtimeId, message, dopts),
    announceRecord: (accepted) => {
      for (const listener of recordListeners) listener(accepted);
      for (const s of storedListeners) s.listener(accepted);
    },
    announceWorkEnded: (row: WorkRow) => {
      const summary = summariseWork(row);
      for (const listener of endedListeners) listener(summary);
    },
  };
  await ctx.runtimes.sync(startedAtMs);

  // Another Cloud's dispatch or evidence reaches this one through the database's NOTIFY.
  const unlisten = [
    await store.listen(CHANNELS.work, (runtimeId) => waiters.wake(runtimeId)),
    await store.listen(CHANNELS.evidence, (payload) => void relayStored(payload)),
  ];
  const relayStored = async (payload: string): Promise<void> => {
    let notice: EvidenceNotice;
    try {
      notice = JSON.parse(payload) as EvidenceNotice;
    } catch {
      return;
    }
    if (notice.origin === ctx.instanceId) return;
    const interested = [...storedListeners].filter((s) => s.wants(notice));
    if (interested.length === 0) return;
    try {
      for (const stored of await store.readEvidence(notice.runtimeId, notice.seqs)) {
        for (const s of interested) s.listener({ runtimeId: stored.runtimeId, record: stored.record });
      }
    } catch (error) {
      log('evidence.relay-failed', { message: error instanceof Error ? error.message : String(error) });
    }
  };

  const nonces = createNonceCache();
  const operatorToken = await loadOrCreateOperatorToken(opts.dataDir);
  const auth: HttpAuth = {
    precheck: async (kind, req) => {
      if (kind === 'operator') {
        const header = req.headers.authorization;
        const presented = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
        return checkOperatorToken(presented, operatorToken) ? { ok: true, caller: OPERATOR_CALLER } : { ok: false, status: 401, code: 'OPERATOR_UNAUTHORIZED', message: 'the operator token of the data directory is required' };
      }
      // A runtime enrolled through another Cloud is loaded once from the database.
      const named = req.headers[REQUEST_HEADERS.runtime];
      if (typeof named === 'string' && /^rt-[A-Za-z0-9_-]{1,120}$/.test(named)) await ctx.runtimes.ensure(named);
      const pre = precheckRequest(req.headers, { lookupKey: (id) => ctx.runtimes.lookupKey(id), nowMs: nowMs(), skewMs: ctx.skewMs, notBeforeMs: startedAtMs });
      if (!pre.ok) return { ok: false, status: 401, code: pre.code, message: 'the request is not signed by an enrolled runtime, or is stale or replayed', fields: { runtimeId: pre.runtimeId ?? null } };
      return { ok: true, caller: pre.runtimeId };
    },
    authenticate: async (kind, req, body) => {
      if (kind !== 'runtime') return { ok: true, runtimeId: '' };
      const refused = (code: string, runtimeId: string | undefined) => {
        log('request.refused', { code, runtimeId: runtimeId ?? null, method: req.method, path: req.url });
        return { ok: false as const, reply: fail(401, code, 'the request is not signed by an enrolled runtime, or is stale or replayed') };
      };
      const checked = authenticateRequest(
        { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body },
        { lookupKey: (id) => ctx.runtimes.lookupKey(id), nonces, nowMs: nowMs(), skewMs: ctx.skewMs, notBeforeMs: startedAtMs },
      );
      if (!checked.ok) return refused(checked.code, checked.runtimeId);
      // The nonce table is shared: a request accepted by one Cloud is refused by every other, and after a restart.
      // The embedded database has one Cloud: there the memory cache decides, and only a request signed ahead of
      // Cloud's clock (the one kind a restart's not-before rule misses) is written, as the journal of ADR 0030 did.
      if ((store.kind === 'postgres' || checked.timestampMs >= nowMs()) && !(await store.rememberNonce(checked.runtimeId, checked.nonce, checked.timestampMs + ctx.skewMs))) {
        return refused('REPLAYED_REQUEST', checked.runtimeId);
      }
      ctx.runtimes.seen(checked.runtimeId, nowMs());
      return { ok: true, runtimeId: checked.runtimeId };
    },
  };

  const routes: Record<string, RouteEntry> = {
    'POST /v1/enroll': { auth: 'enroll', handle: (req) => enrollRoute(ctx, req) },
    'POST /v1/heartbeat': { auth: 'runtime', handle: async () => ({ status: 200, body: { status: 'online', serverTime: new Date(nowMs()).toISOString() } }) },
    'GET /v1/work': { auth: 'runtime', handle: (req) => pollWorkRoute(ctx, req) },
    'POST /v1/claims': { auth: 'runtime', handle: (req) => claimRoute(ctx, req) },
    'POST /v1/leases': { auth: 'runtime', handle: (req) => renewLeaseRoute(ctx, req) },
    'POST /v1/evidence': { auth: 'runtime', handle: (req) => evidenceRoute(ctx, req) },
  };
  for (const [key, handle] of Object.entries(operatorRoutes(createStoreOperatorApi(store, { clock, owned: false })))) routes[key] = { auth: 'operator', handle };

  const http = createHttpAdapter(
    routes,
    auth,
    {
      maxBodyBytes: opts.maxBodyBytes ?? MAX_REQUEST_BODY_BYTES,
      maxConnections: opts.maxConnections ?? 1024,
      maxUnverifiedRequests: opts.maxUnverifiedRequests ?? 256,
      maxUnverifiedPerCaller: opts.maxUnverifiedPerCaller ?? 8,
      maxUnverifiedEnrollments: opts.maxUnverifiedEnrollments ?? 64,
      maxUnverifiedBytes: opts.maxUnverifiedBytes ?? 32 * 1024 * 1024,
      bodyTimeoutMs: opts.bodyTimeoutMs ?? 10_000,
      headersTimeoutMs: opts.headersTimeoutMs ?? 10_000,
      keepAliveTimeoutMs: opts.keepAliveTimeoutMs ?? 10_000,
    },
    log,
  );

  let sweeping: Promise<void> | undefined;
  const sweep = (): Promise<void> => {
    sweeping ??= sweepOnce(ctx).finally(() => {
      sweeping = undefined;
    });
    return sweeping;
  };
  let sweepTimer: NodeJS.Timeout | undefined;
  let listeningUrl: string | undefined;
  let closed = false;

  return {
    store,
    cloudKeyId: opts.signingKey.keyId,
    instanceId: ctx.instanceId,
    listen: async (port) => {
      const listening = await http.listen(port);
      listeningUrl = listening.url;
      await publishOperatorAddress(opts.dataDir, { url: listening.url, pid: process.pid });
      sweepTimer = setInterval(() => void sweep().catch(() => undefined), Math.max(50, Math.min(heartbeatIntervalMs, leaseMs, 1_000) / 2));
      sweepTimer.unref();
      return listening;
    },
    close: async () => {
      if (closed) return;
      closed = true;
      if (sweepTimer !== undefined) clearInterval(sweepTimer);
      waiters.wakeAll();
      await http.close();
      await sweeping?.catch(() => undefined);
      if (listeningUrl !== undefined) await withdrawOperatorAddress(opts.dataDir, listeningUrl).catch(() => undefined);
      for (const fn of unlisten) await fn().catch(() => undefined);
      if (ownsStore) await store.close();
    },
    dispatch: ctx.dispatch,
    onRecord: (listener) => {
      recordListeners.add(listener);
      return () => recordListeners.delete(listener);
    },
    onStoredRecord: (wants, listener) => {
      const entry = { wants, listener };
      storedListeners.add(entry);
      return () => storedListeners.delete(entry);
    },
    onWorkEnded: (listener) => {
      endedListeners.add(listener);
      return () => endedListeners.delete(listener);
    },
    sweep,
    listRuntimes: () => ctx.runtimes.list(nowMs()),
    isRuntimeOnline: (runtimeId) => ctx.runtimes.isOnline(runtimeId, nowMs()),
    getWork: async (workId) => {
      const row = await store.getWork(workId);
      return row === undefined ? undefined : summariseWork(row);
    },
    listEvidence: (runtimeId) => store.listEvidence(runtimeId),
    storedEnrollments: () => store.latestEnrollments(),
    admission: () => http.admission(),
  };
}
