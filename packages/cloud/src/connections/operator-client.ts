import { omitUndefined, systemClock } from '@lumenflow/protocol';
import type { Ask, Clock } from '@lumenflow/protocol';
import type { ApprovalAnswer } from '../approvals.js';
import { CloudError } from '../errors.js';
import type { CloudErrorCode } from '../errors.js';
import { openCloudStore } from '../store/cloud-store.js';
import type { PendingApproval } from './approval-store.js';
import { createStoreOperatorApi } from './operator-api.js';
import type { AskOutcome, OperatorApi } from './operator-api.js';
import { readOperatorAddress, readOperatorToken } from './operator-address.js';
import { isProcessAlive } from '../process-alive.js';

export interface OperatorAccess {
  /** A Postgres server shared by the Clouds: the commands then use it directly. */
  databaseUrl?: string | undefined;
  clock?: Clock;
}

/**
 * The operator API of the Cloud whose data directory is `dataDir`: with a
 * database URL, the shared database itself; else the running `cloud serve`'s
 * authenticated HTTP API; with none running, the embedded database directly.
 *
 * @throws {CloudError} CLOUD_UNREACHABLE, DATA_DIR_LOCKED, SCHEMA_TOO_NEW, DATABASE_UNREACHABLE.
 */
export async function openOperatorApi(dataDir: string, access: OperatorAccess = {}): Promise<OperatorApi> {
  const clock = access.clock ?? systemClock;
  if (access.databaseUrl !== undefined) return createStoreOperatorApi(await openCloudStore({ dataDir, databaseUrl: access.databaseUrl }), { clock, owned: true });
  const address = await readOperatorAddress(dataDir);
  if (address !== undefined && isProcessAlive(address.pid)) {
    const token = await readOperatorToken(dataDir);
    if (token === undefined) throw new CloudError('OPERATOR_UNAUTHORIZED', `${dataDir}: no operator-token; cannot speak to the running Cloud`);
    return createHttpOperatorApi(address.url, token);
  }
  return createStoreOperatorApi(await openCloudStore({ dataDir }), { clock, owned: true });
}

function createHttpOperatorApi(baseUrl: string, token: string): OperatorApi {
  const call = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
    let res: Response;
    try {
      res = await fetch(`${baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...omitUndefined({ body: body === undefined ? undefined : JSON.stringify(body) }),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      throw new CloudError('CLOUD_UNREACHABLE', `the Cloud at ${baseUrl} does not answer (${(error as Error).message})`, { cause: error });
    }
    const json = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string } } & T;
    if (res.ok) return json;
    throw new CloudError((json.error?.code ?? 'CLOUD_UNREACHABLE') as CloudErrorCode, json.error?.message ?? `HTTP ${res.status}`);
  };
  return {
    createEnrollToken: (ttlMs) => call('POST', '/v1/operator/enroll-tokens', omitUndefined({ ttlMs })),
    submitAsk: async (ask) => (await call<{ created: boolean }>('POST', '/v1/operator/asks', { ask })).created,
    readAskOutcome: async (askId) => (await call<{ outcome: AskOutcome | null }>('GET', `/v1/operator/asks?id=${encodeURIComponent(askId)}`)).outcome ?? undefined,
    listPendingApprovals: async () => (await call<{ approvals: PendingApproval[] }>('GET', '/v1/operator/approvals')).approvals,
    readPendingApproval: async (id) => (await call<{ approvals: PendingApproval[] }>('GET', `/v1/operator/approvals?id=${encodeURIComponent(id)}`)).approvals[0],
    answerApproval: async (id, answer) => (await call<{ result: 'accepted' | 'answered' | 'unknown' }>('POST', '/v1/operator/approval-answers', { approvalId: id, answer })).result,
    close: async () => undefined,
  };
}

async function withOperator<T>(dataDir: string, access: OperatorAccess, fn: (api: OperatorApi) => Promise<T>): Promise<T> {
  const api = await openOperatorApi(dataDir, access);
  try {
    return await fn(api);
  } finally {
    await api.close();
  }
}

/**
 * Creates a one-time enrollment token for the Cloud of `dataDir` and returns it (shown once; only its hash is stored).
 *
 * @throws {RangeError} when ttlMs is not a positive safe integer.
 */
export function createEnrollToken(opts: { dataDir: string; ttlMs?: number; clock: Clock; databaseUrl?: string }): Promise<{ token: string; expiresAt: string }> {
  if (opts.ttlMs !== undefined && (!Number.isSafeInteger(opts.ttlMs) || opts.ttlMs <= 0)) throw new RangeError('ttlMs must be a positive integer');
  return withOperator(opts.dataDir, { databaseUrl: opts.databaseUrl, clock: opts.clock }, (api) => api.createEnrollToken(opts.ttlMs));
}

/** Queues an Ask for `cloud serve`; false when an Ask with that id was already submitted. @throws {CloudError} ASK_INVALID */
export function submitAsk(dataDir: string, ask: Ask, access: OperatorAccess = {}): Promise<boolean> {
  return withOperator(dataDir, access, (api) => api.submitAsk(ask));
}

/** The outcome of a submitted Ask, once there is one. */
export function readAskOutcome(dataDir: string, askId: string, access: OperatorAccess = {}): Promise<AskOutcome | undefined> {
  return withOperator(dataDir, access, (api) => api.readAskOutcome(askId));
}

/** Every approval still waiting on a person. */
export function listPendingApprovals(dataDir: string, access: OperatorAccess = {}): Promise<PendingApproval[]> {
  return withOperator(dataDir, access, (api) => api.listPendingApprovals());
}

/** One stored approval, pending or settled. */
export function readPendingApproval(dataDir: string, approvalId: string, access: OperatorAccess = {}): Promise<PendingApproval | undefined> {
  return withOperator(dataDir, access, (api) => api.readPendingApproval(approvalId));
}

/**
 * Records an operator's answer, once: false when the request already has an answer.
 *
 * @throws {CloudError} APPROVAL_INVALID, APPROVAL_SELF_APPROVAL, APPROVAL_EXPIRED; APPROVAL_INVALID also for an unknown or settled request.
 */
export function submitApprovalAnswer(dataDir: string, pending: PendingApproval, answer: ApprovalAnswer, access: OperatorAccess = {}): Promise<boolean> {
  return withOperator(dataDir, access, async (api) => {
    const result = await api.answerApproval(pending.request.approvalId, answer);
    if (result === 'unknown') throw new CloudError('APPROVAL_INVALID', `no pending approval ${pending.request.approvalId}`);
    return result === 'accepted';
  });
}
