import { join } from 'node:path';
import { z } from 'zod';
import { ApprovalRecordSchema, IdSchema, omitUndefined, parseStrictJson } from '@lumenflow/protocol';
import type { ApprovalRecord, PullRequestOutput } from '@lumenflow/protocol';
import { BUNDLE_MODES, VerifierError, writeBundle } from '@lumenflow/verifier';
import type { SigningKey } from '@lumenflow/verifier';
import { resolveApproval } from '../approvals.js';
import type { ApprovalAnswer } from '../approvals.js';
import type { PendingApprovalSnapshot } from '../cloud.js';
import { formatJsonFile } from '../proof-files.js';
import { applyPullRequestStep } from '../pull-request/step.js';
import type { PullRequestConfig } from '../pull-request/perform.js';
import { CloudError } from '../errors.js';
import type { ApprovalRow, AskHold, CloudStore } from '../store/cloud-store.js';

// A run paused at its approval gate, kept in the store so that any Cloud on the
// database can still finish it after the one that ran it stopped. By then the
// runtime's session is over and every proof file but approval.json is final, so
// nothing else needs to resume: the answer, or the expiry, turns the stored
// files into the bundle.

const ApprovalRequestSchema = ApprovalRecordSchema.shape.request.unwrap();

export const PendingApprovalSchema = z.strictObject({
  schemaVersion: z.literal(1),
  state: z.enum(['pending', 'settled']),
  runId: IdSchema,
  askId: IdSchema,
  outDir: z.string().min(1),
  mode: z.enum(BUNDLE_MODES),
  request: ApprovalRequestSchema,
  artifacts: z.record(z.string(), z.string()),
  /** Once settled: how, and where the bundle is. */
  settled: z.strictObject({ status: z.enum(['approved', 'rejected', 'expired']), dir: z.string().min(1) }).optional(),
});
export type PendingApproval = z.infer<typeof PendingApprovalSchema>;

export const ApprovalAnswerSchema = z.strictObject({
  approver: z.string().min(1).max(200),
  decision: z.enum(['approved', 'rejected']),
  reason: z.string().min(1).max(2000),
});

const SettledSchema = z.strictObject({ status: z.enum(['approved', 'rejected', 'expired']), dir: z.string().min(1) });

/** A stored row as a PendingApproval; undefined when it does not parse (fails closed: it cannot be answered). */
export function toPendingApproval(row: ApprovalRow): PendingApproval | undefined {
  try {
    const snapshot = parseStrictJson(row.snapshot) as unknown as PendingApprovalSnapshot;
    const settled = row.settled === null ? undefined : SettledSchema.parse(parseStrictJson(row.settled));
    const parsed = PendingApprovalSchema.safeParse({ schemaVersion: 1, state: row.state, ...snapshot, ...omitUndefined({ settled }) });
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Stores a run paused at its approval gate. Given `hold` (the run of the Ask that
 * asks), only while that run still holds the Ask: false when it was taken over.
 */
export async function savePendingApproval(store: CloudStore, snapshot: PendingApprovalSnapshot, opts: { hold?: AskHold } = {}): Promise<boolean> {
  PendingApprovalSchema.parse({ schemaVersion: 1, state: 'pending', ...snapshot });
  return store.savePendingApproval({
    ...omitUndefined({ hold: opts.hold }),
    approvalId: snapshot.request.approvalId,
    askId: snapshot.askId,
    runId: snapshot.runId,
    requestedMs: Date.parse(snapshot.request.requestedAt),
    expiresMs: Date.parse(snapshot.request.expiresAt),
    snapshot: JSON.stringify(snapshot),
  });
}

/** One stored approval; undefined when absent or unreadable. */
export async function loadPendingApproval(store: CloudStore, approvalId: string): Promise<PendingApproval | undefined> {
  if (!IdSchema.safeParse(approvalId).success) return undefined;
  const row = await store.getApproval(approvalId);
  return row === undefined ? undefined : toPendingApproval(row);
}

/** Every stored approval still waiting on a person, oldest first. */
export async function loadPendingApprovals(store: CloudStore): Promise<PendingApproval[]> {
  return (await store.listPendingApprovals()).flatMap((row) => toPendingApproval(row) ?? []);
}

/**
 * Records an operator's answer, once: a second answer to the same request is refused (false).
 *
 * @throws {CloudError} APPROVAL_INVALID for a malformed answer; APPROVAL_SELF_APPROVAL when the approver requested the action.
 */
export async function recordApprovalAnswer(store: CloudStore, pending: PendingApproval, answer: ApprovalAnswer, nowMs: number): Promise<boolean> {
  const parsed = ApprovalAnswerSchema.safeParse(answer);
  if (!parsed.success) throw new CloudError('APPROVAL_INVALID', 'an approval answer needs an approver, approved or rejected, and a reason');
  // The same rule Cloud applies when it settles; checked here too so the operator hears it at once.
  resolveApproval(pending.request, parsed.data, new Date(Date.parse(pending.request.requestedAt)));
  return store.answerApproval(pending.request.approvalId, JSON.stringify(parsed.data), nowMs);
}

/** The answer waiting for a stored approval, if one was given and parses. */
export function readApprovalAnswer(row: ApprovalRow): ApprovalAnswer | undefined {
  if (row.answer === null) return undefined;
  try {
    const parsed = ApprovalAnswerSchema.safeParse(parseStrictJson(row.answer));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Turns a stored approval into its signed bundle: `answer` checked as the live
 * run would (no self-approval, not past expiry), or `expired` when `now` is past
 * `expiresAt` with no answer. Marks the approval settled and its Ask done, once.
 * Idempotent: a bundle already written for this run (Cloud stopped between
 * writing it and marking the approval) is kept, never written twice.
 *
 * @throws {CloudError} APPROVAL_SELF_APPROVAL, APPROVAL_INVALID for an answer that may not settle it;
 *   {VerifierError} bundle-writing codes other than BUNDLE_EXISTS.
 */
export async function completePendingApproval(opts: {
  store: CloudStore;
  pending: PendingApproval;
  answer: ApprovalAnswer | undefined;
  now: Date;
  signingKey: SigningKey;
  /** How an approved pull request is carried out (as in the live run); absent: no pull-request step. */
  pullRequest?: PullRequestConfig | undefined;
}): Promise<{ status: 'approved' | 'rejected' | 'expired'; dir: string; pullRequest?: PullRequestOutput } | undefined> {
  const { pending, now } = opts;
  const base = { schemaVersion: 1 as const, runId: pending.runId, askId: pending.askId, request: pending.request };
  let approval: ApprovalRecord;
  if (opts.answer === undefined) {
    if (now.getTime() <= Date.parse(pending.request.expiresAt)) return undefined;
    approval = { ...base, status: 'expired', resolution: null };
  } else {
    try {
      const resolution = resolveApproval(pending.request, opts.answer, now);
      approval = { ...base, status: resolution.decision, resolution };
    } catch (error) {
      if (!(error instanceof CloudError) || error.code !== 'APPROVAL_EXPIRED') throw error;
      approval = { ...base, status: 'expired', resolution: null };
    }
  }
  const status = approval.status as 'approved' | 'rejected' | 'expired';
  // The same step as the live run, on the same stored files; the use ledger keeps it to one use across restarts.
  const opened = opts.pullRequest === undefined ? undefined : await applyPullRequestStep({ config: opts.pullRequest, artifacts: pending.artifacts, approval, clock: { now: () => now } });
  const artifacts = { ...(opened?.artifacts ?? pending.artifacts), 'approval.json': formatJsonFile(approval) };
  let dir = join(pending.outDir, pending.runId);
  try {
    dir = (await writeBundle({ outDir: pending.outDir, runId: pending.runId, mode: pending.mode, createdAt: now.toISOString(), artifacts, signingKey: opts.signingKey })).dir;
  } catch (error) {
    if (!(error instanceof VerifierError) || error.code !== 'BUNDLE_EXISTS') throw error;
  }
  const pullRequest = opened?.result.output;
  const outcome = { askId: pending.askId, ok: true, runId: pending.runId, dir, ending: pullRequest?.code === undefined ? status : 'pr-failed', approvalStatus: status };
  await opts.store.settleApproval(pending.request.approvalId, JSON.stringify({ status, dir }), { askId: pending.askId, json: JSON.stringify(outcome) }, now.getTime());
  return { status, dir, ...omitUndefined({ pullRequest }) };
}

/**
 * Marks a stored approval settled after the live run finished it itself and, given
 * one, records its Ask's outcome in the same transaction. False when it was settled already.
 */
export async function markApprovalSettled(
  store: CloudStore,
  approvalId: string,
  settled: { status: 'approved' | 'rejected' | 'expired'; dir: string },
  nowMs: number,
  askOutcome?: { askId: string; json: string },
): Promise<boolean> {
  return store.settleApproval(approvalId, JSON.stringify(settled), askOutcome, nowMs);
}
