import { comparePrincipals, computeApprovalActionHash, computeSha256Digest } from '@lumenflow/protocol';
import type { ApprovalAction, ApprovalRecord } from '@lumenflow/protocol';
import { CloudError } from './errors.js';

/** How long an approval request stays answerable unless told otherwise. */
export const DEFAULT_APPROVAL_TTL_MS = 24 * 60 * 60 * 1000;

export type ApprovalRequest = NonNullable<ApprovalRecord['request']>;
export type { ApprovalAction };

/** An approver's answer, before Cloud checks it. */
export interface ApprovalAnswer {
  approver: string;
  decision: 'approved' | 'rejected';
  reason: string;
}

/** What a request is bound to, as text: what a person must be able to read before answering. */
export interface ApprovalSubject {
  /** file-diff.patch, whose sha256 is the request's `diffSha256`. */
  diff: string;
  /** pr-summary.md, whose sha256 is the request's `prTextSha256`. */
  prText: string;
}

/** Produces an answer for a pending request (a scripted identity, a terminal prompt, a test). */
export type Approver = (request: ApprovalRequest, subject: ApprovalSubject) => Promise<ApprovalAnswer>;

/** `sha256:` hex of the bytes; a string is hashed as its UTF-8 bytes. */
export function sha256Digest(bytes: Uint8Array | string): string {
  return computeSha256Digest(typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes);
}

/** Builds a pending request bound to the exact diff and PR text bytes. */
export function createApprovalRequest(opts: {
  approvalId: string;
  action: ApprovalAction;
  diff: Uint8Array | string;
  prText: Uint8Array | string;
  decisionId: string;
  requestedBy: string;
  requestedAt: Date;
  ttlMs?: number;
}): ApprovalRequest {
  const ttl = opts.ttlMs ?? DEFAULT_APPROVAL_TTL_MS;
  if (!Number.isFinite(ttl) || ttl <= 0) throw new RangeError('ttlMs must be a positive number');
  const diffSha256 = sha256Digest(opts.diff);
  const prTextSha256 = sha256Digest(opts.prText);
  return {
    approvalId: opts.approvalId,
    action: { ...opts.action },
    diffSha256,
    prTextSha256,
    actionHash: computeApprovalActionHash(opts.action, diffSha256, prTextSha256),
    decisionId: opts.decisionId,
    requestedBy: opts.requestedBy,
    requestedAt: opts.requestedAt.toISOString(),
    expiresAt: new Date(opts.requestedAt.getTime() + ttl).toISOString(),
  };
}

/**
 * Checks an answer against its request at time `now` and returns the resolution.
 *
 * @throws {CloudError} APPROVAL_SELF_APPROVAL when the approver is the requester
 *   (a person may not approve their own request); APPROVAL_EXPIRED when `now` is
 *   past `expiresAt`; APPROVAL_INVALID for an empty approver or reason.
 */
export function resolveApproval(
  request: ApprovalRequest,
  answer: ApprovalAnswer,
  now: Date,
): NonNullable<ApprovalRecord['resolution']> {
  const approver = answer.approver.trim();
  if (approver === '' || answer.reason.trim() === '') {
    throw new CloudError('APPROVAL_INVALID', 'an approval answer needs an approver and a reason');
  }
  if (answer.decision !== 'approved' && answer.decision !== 'rejected') {
    throw new CloudError('APPROVAL_INVALID', 'an approval decision is approved or rejected');
  }
  // One rule with Replay (@lumenflow/protocol identity.ts): ASCII ids, case folded. An id outside
  // the syntax could be a look-alike of the requester (zero-width, fullwidth, Cyrillic), so it is refused.
  const same = comparePrincipals(approver, request.requestedBy.trim());
  if (same === 'invalid') {
    throw new CloudError('APPROVAL_INVALID', `approver ${JSON.stringify(approver)} is not an id: 1-128 ASCII letters, digits or . _ - : @`);
  }
  if (same === 'same') {
    throw new CloudError('APPROVAL_SELF_APPROVAL', `${approver} requested this action and cannot also approve it`);
  }
  if (now.getTime() > Date.parse(request.expiresAt)) {
    throw new CloudError('APPROVAL_EXPIRED', `approval ${request.approvalId} expired at ${request.expiresAt}`);
  }
  return { approver, decision: answer.decision, reason: answer.reason.trim(), decidedAt: now.toISOString() };
}
