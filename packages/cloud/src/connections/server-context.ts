import type { CloudToRuntimeMessage, EvidenceRecord } from '@lumenflow/protocol';
import type { SigningKey } from '@lumenflow/verifier';
import type { CloudStore, WorkRow } from '../store/cloud-store.js';
import type { RuntimeRegistry } from './runtime-registry.js';
import type { WorkWaiters } from './work-waiters.js';

/** A dispatch as the server reports it. */
export interface WorkSummary {
  workId: string;
  runtimeId: string;
  claim: WorkRow['claim'];
  sessionId: string | null;
  state: WorkRow['state'];
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

/** What every route, the sweep and the dispatcher share within one Cloud process. */
export interface ServerContext {
  store: CloudStore;
  /** This process among the Clouds on one database (it names lease owners and notice origins). */
  instanceId: string;
  signingKey: SigningKey;
  nowMs(): number;
  leaseMs: number;
  heartbeatIntervalMs: number;
  maxAttempts: number;
  skewMs: number;
  newId(prefix: string): string;
  log(event: string, fields: Record<string, unknown>): void;
  runtimes: RuntimeRegistry;
  waiters: WorkWaiters;
  /** Session id -> the runtime its dispatch went to (never changes; a bounded cache of the work table). */
  sessionOwners: Map<string, string>;
  dispatch(runtimeId: string, message: CloudToRuntimeMessage, opts?: { attempt?: number }): Promise<WorkSummary>;
  /** Announces records this process stored (listeners of `onRecord`). */
  announceRecord(accepted: AcceptedRecord): void;
  announceWorkEnded(work: WorkRow): void;
}

export function summariseWork(row: WorkRow): WorkSummary {
  return {
    workId: row.workId,
    runtimeId: row.runtimeId,
    claim: row.claim,
    sessionId: row.sessionId,
    state: row.state,
    createdAt: row.createdAt,
    claimedAt: row.lease?.claimedAt ?? null,
    endedAt: row.endedAt,
    outcome: row.outcome,
  };
}

const SESSION_OWNERS_KEPT = 20_000;

/** Remembers which runtime a session was dispatched to; bounded, the oldest are asked of the database again. */
export function rememberSessionOwner(ctx: Pick<ServerContext, 'sessionOwners'>, sessionId: string, runtimeId: string): void {
  ctx.sessionOwners.set(sessionId, runtimeId);
  if (ctx.sessionOwners.size > SESSION_OWNERS_KEPT) ctx.sessionOwners.delete(ctx.sessionOwners.keys().next().value as string);
}
