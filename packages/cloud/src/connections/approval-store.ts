import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ApprovalRecordSchema, IdSchema } from '@lumenflow/protocol';
import type { ApprovalRecord, PullRequestOutput } from '@lumenflow/protocol';
import { BUNDLE_MODES, VerifierError, writeBundle, writeFileAtomic } from '@lumenflow/verifier';
import type { SigningKey } from '@lumenflow/verifier';
import { resolveApproval } from '../approvals.js';
import type { ApprovalAnswer } from '../approvals.js';
import type { PendingApprovalSnapshot } from '../cloud.js';
import { formatJsonFile } from '../proof-files.js';
import { applyPullRequestStep } from '../pull-request/step.js';
import type { PullRequestConfig } from '../pull-request/perform.js';
import { CloudError } from '../errors.js';
import { createFileExclusive, listJsonFiles, readFileIfExists } from './atomic-file.js';
import { parseStateFile } from './state-store.js';

// A run paused at its approval gate, kept in Cloud's data directory so that a
// restarted Cloud can still finish it. By then the runtime's session is over
// and every proof file but approval.json is final, so nothing else needs to
// resume: the answer, or the expiry, turns the stored files into the bundle.

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

/** Where one approval's files live under a Cloud data directory. */
export function approvalPaths(dataDir: string, approvalId: string): { pending: string; answer: string; refused: string } {
  IdSchema.parse(approvalId);
  const dir = join(dataDir, 'approvals');
  return { pending: join(dir, `${approvalId}.json`), answer: join(dir, `${approvalId}.answer.json`), refused: join(dir, `${approvalId}.answer.refused.json`) };
}

/** Stores a run paused at its approval gate (atomic, 0600). */
export async function savePendingApproval(dataDir: string, snapshot: PendingApprovalSnapshot): Promise<void> {
  const record: PendingApproval = { schemaVersion: 1, state: 'pending', ...snapshot };
  await writeFileAtomic(approvalPaths(dataDir, snapshot.request.approvalId).pending, `${JSON.stringify(PendingApprovalSchema.parse(record))}\n`);
}

/** Reads one stored approval; undefined when absent or unreadable (an unreadable one fails closed: it cannot be answered). */
export async function readPendingApproval(dataDir: string, approvalId: string): Promise<PendingApproval | undefined> {
  return parseStateFile(await readFileIfExists(approvalPaths(dataDir, approvalId).pending), PendingApprovalSchema);
}

/** Every stored approval still waiting on a person. */
export async function listPendingApprovals(dataDir: string): Promise<PendingApproval[]> {
  const out: PendingApproval[] = [];
  for (const name of await listJsonFiles(join(dataDir, 'approvals'))) {
    if (name.endsWith('.answer.json') || name.endsWith('.refused.json')) continue;
    const id = name.slice(0, -'.json'.length);
    if (!IdSchema.safeParse(id).success) continue;
    const pending = await readPendingApproval(dataDir, id);
    if (pending?.state === 'pending') out.push(pending);
  }
  return out.sort((a, b) => a.request.requestedAt.localeCompare(b.request.requestedAt));
}

/**
 * Records an operator's answer, once: a second answer to the same request is refused.
 *
 * @throws {CloudError} APPROVAL_INVALID for a malformed answer; APPROVAL_SELF_APPROVAL when the approver requested the action.
 */
export async function submitApprovalAnswer(dataDir: string, pending: PendingApproval, answer: ApprovalAnswer): Promise<boolean> {
  const parsed = ApprovalAnswerSchema.safeParse(answer);
  if (!parsed.success) throw new CloudError('APPROVAL_INVALID', 'an approval answer needs an approver, approved or rejected, and a reason');
  // The same rule Cloud applies when it settles; checked here too so the operator hears it at once.
  resolveApproval(pending.request, parsed.data, new Date(Date.parse(pending.request.requestedAt)));
  return createFileExclusive(approvalPaths(dataDir, pending.request.approvalId).answer, `${JSON.stringify(parsed.data)}\n`);
}

/** The answer waiting for a stored approval, if one was submitted and parses. */
export async function readApprovalAnswer(dataDir: string, approvalId: string): Promise<ApprovalAnswer | undefined> {
  return parseStateFile(await readFileIfExists(approvalPaths(dataDir, approvalId).answer), ApprovalAnswerSchema);
}

/** Moves an answer Cloud would not accept out of the way, so a valid one can still be given. */
export async function refuseApprovalAnswer(dataDir: string, approvalId: string): Promise<void> {
  const paths = approvalPaths(dataDir, approvalId);
  await rename(paths.answer, paths.refused).catch(() => undefined);
}

/**
 * Turns a stored approval into its signed bundle: `answer` checked as the live
 * run would (no self-approval, not past expiry), or `expired` when `now` is past
 * `expiresAt` with no answer. Marks the approval settled. Idempotent: a bundle
 * already written for this run (Cloud stopped between writing it and marking
 * the approval) is kept, never written twice.
 *
 * @throws {CloudError} APPROVAL_SELF_APPROVAL, APPROVAL_INVALID for an answer that may not settle it;
 *   {VerifierError} bundle-writing codes other than BUNDLE_EXISTS.
 */
export async function completePendingApproval(opts: {
  dataDir: string;
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
  const settled: PendingApproval = { ...pending, state: 'settled', settled: { status, dir } };
  await writeFileAtomic(approvalPaths(opts.dataDir, pending.request.approvalId).pending, `${JSON.stringify(settled)}\n`);
  return { status, dir, ...(opened === undefined ? {} : { pullRequest: opened.result.output }) };
}

/** Marks a stored approval settled after the live run finished it itself. */
export async function markApprovalSettled(dataDir: string, approvalId: string, settled: { status: 'approved' | 'rejected' | 'expired'; dir: string }): Promise<void> {
  const pending = await readPendingApproval(dataDir, approvalId);
  if (pending === undefined || pending.state !== 'pending') return;
  await writeFileAtomic(approvalPaths(dataDir, approvalId).pending, `${JSON.stringify({ ...pending, state: 'settled', settled })}\n`);
}
