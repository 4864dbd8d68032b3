import { AskSchema, parseStrictJson } from '@lumenflow/protocol';
import type { Ask, Clock } from '@lumenflow/protocol';
import type { ApprovalAnswer } from '../approvals.js';
import type { RunResult } from '../cloud.js';
import { CloudError } from '../errors.js';
import type { CloudStore } from '../store/cloud-store.js';
import { loadPendingApproval, loadPendingApprovals, recordApprovalAnswer } from './approval-store.js';
import type { PendingApproval } from './approval-store.js';
import { issueEnrollToken } from './enroll-token.js';

// What an operator may do to a Cloud, over its store. `cloud serve` offers it as
// an authenticated HTTP API (routes/operator.ts); with no Cloud running, the CLI
// runs the same functions on the store itself.

/** The outcome of a submitted Ask, once `cloud serve` has one. */
export type AskOutcome =
  | { askId: string; ok: true; runId: string; dir: string; ending: RunResult['ending'] | 'approved' | 'rejected' | 'expired'; approvalStatus: RunResult['approvalStatus'] }
  | { askId: string; ok: false; runId: string; code: string; message: string };

export interface OperatorApi {
  createEnrollToken(ttlMs?: number): Promise<{ token: string; expiresAt: string }>;
  /** False when an Ask with that id was already submitted. @throws {CloudError} ASK_INVALID */
  submitAsk(ask: Ask): Promise<boolean>;
  readAskOutcome(askId: string): Promise<AskOutcome | undefined>;
  listPendingApprovals(): Promise<PendingApproval[]>;
  readPendingApproval(approvalId: string): Promise<PendingApproval | undefined>;
  /**
   * Records an answer once: 'answered' when it already had one, 'unknown' when no such approval is pending.
   *
   * @throws {CloudError} APPROVAL_INVALID, APPROVAL_SELF_APPROVAL, APPROVAL_EXPIRED.
   */
  answerApproval(approvalId: string, answer: ApprovalAnswer): Promise<'accepted' | 'answered' | 'unknown'>;
  close(): Promise<void>;
}

/** The operator API over an open store. `close` closes the store only when `owned`. */
export function createStoreOperatorApi(store: CloudStore, opts: { clock: Clock; owned: boolean }): OperatorApi {
  return {
    createEnrollToken: (ttlMs) => issueEnrollToken(store, { ttlMs, clock: opts.clock }),
    submitAsk: async (ask) => {
      const parsed = AskSchema.safeParse(ask);
      if (!parsed.success) throw new CloudError('ASK_INVALID', 'the Ask does not match AskSchema');
      return store.submitAsk(parsed.data.askId, JSON.stringify(parsed.data), opts.clock.now().getTime());
    },
    readAskOutcome: async (askId) => {
      const row = await store.readAsk(askId);
      return row?.outcome == null ? undefined : (parseStrictJson(row.outcome) as unknown as AskOutcome);
    },
    listPendingApprovals: () => loadPendingApprovals(store),
    readPendingApproval: (id) => loadPendingApproval(store, id),
    answerApproval: async (id, answer) => {
      const pending = await loadPendingApproval(store, id);
      if (pending === undefined || pending.state !== 'pending') return 'unknown';
      if (opts.clock.now().getTime() > Date.parse(pending.request.expiresAt)) throw new CloudError('APPROVAL_EXPIRED', `approval ${id} expired at ${pending.request.expiresAt}`);
      return (await recordApprovalAnswer(store, pending, answer, opts.clock.now().getTime())) ? 'accepted' : 'answered';
    },
    close: async () => {
      if (opts.owned) await store.close();
    },
  };
}
