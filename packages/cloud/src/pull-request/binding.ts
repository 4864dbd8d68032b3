import { computeApprovalActionHash } from '@lumenflow/protocol';
import type { ApprovalRecord } from '@lumenflow/protocol';
import { sha256Digest } from '../approvals.js';
import type { PrCandidate, PrCode } from './types.js';

/** A use of an approval already recorded (see use-ledger.ts). */
export interface RecordedUse {
  approvalId: string;
  actionHash: string;
}

export type BindingVerdict =
  | { ok: true; actionHash: string }
  /** The same approval, already used for this same action: report its first result, do not act again. */
  | { ok: 'used'; actionHash: string }
  | { ok: false; code: PrCode; message: string };

/**
 * Whether a provider may carry out `candidate` under `approval` at `now`. Pure.
 * The approval must be approved, unexpired and unused, and the candidate (its
 * base commit, the diff of what is about to be pushed, the title and body)
 * must hash to the approval's actionHash. Each way of failing has its own code;
 * the caller pushes nothing unless `ok` is true.
 */
export function checkPrBinding(opts: { approval: ApprovalRecord; candidate: PrCandidate; now: Date; use?: RecordedUse | undefined }): BindingVerdict {
  const { approval, candidate } = opts;
  const request = approval.request;
  const refuse = (code: PrCode, message: string): BindingVerdict => ({ ok: false, code, message });
  if (request === null || approval.status === 'not_requested') return refuse('PR_APPROVAL_MISSING', 'no approval was requested for this run');
  if (approval.status === 'rejected' || approval.resolution?.decision === 'rejected') {
    return refuse('PR_APPROVAL_REJECTED', `approval ${request.approvalId} was rejected`);
  }
  if (approval.status !== 'approved' || approval.resolution === null || approval.resolution.decision !== 'approved') {
    return refuse('PR_APPROVAL_EXPIRED', `approval ${request.approvalId} was not approved before it expired`);
  }
  const expires = Date.parse(request.expiresAt);
  if (Date.parse(approval.resolution.decidedAt) > expires) return refuse('PR_APPROVAL_EXPIRED', `approval ${request.approvalId} was answered after it expired`);
  if (opts.now.getTime() > expires) return refuse('PR_APPROVAL_EXPIRED', `approval ${request.approvalId} expired at ${request.expiresAt}`);

  const approved = request.action;
  const proposed = candidate.action;
  if (approved.baseCommit !== undefined && proposed.baseCommit !== approved.baseCommit) {
    return refuse('PR_BASE_CHANGED', `the change would sit on ${proposed.baseCommit ?? 'no known commit'}, approved was ${approved.baseCommit}`);
  }
  for (const field of ['kind', 'repository', 'base', 'head'] as const) {
    if (proposed[field] !== approved[field]) return refuse('PR_ACTION_CHANGED', `${field} is ${proposed[field]}, approved was ${approved[field]}`);
  }
  const diffSha256 = sha256Digest(candidate.diff);
  if (diffSha256 !== request.diffSha256) return refuse('PR_DIFF_CHANGED', `the diff about to be pushed (${diffSha256}) is not the approved one (${request.diffSha256})`);
  const prTextSha256 = sha256Digest(candidate.prText);
  if (prTextSha256 !== request.prTextSha256) return refuse('PR_TEXT_CHANGED', `the title and body (${prTextSha256}) are not the approved text (${request.prTextSha256})`);
  const actionHash = computeApprovalActionHash(proposed, diffSha256, prTextSha256);
  if (actionHash !== request.actionHash) return refuse('PR_ACTION_CHANGED', `the action hashes to ${actionHash}, approved was ${request.actionHash}`);

  if (opts.use !== undefined) {
    if (opts.use.approvalId === request.approvalId && opts.use.actionHash === actionHash) return { ok: 'used', actionHash };
    return refuse('PR_APPROVAL_USED', `approval ${request.approvalId} was already used`);
  }
  return { ok: true, actionHash };
}
