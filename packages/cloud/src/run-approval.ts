import { omitUndefined } from '@lumenflow/protocol';
import type { ApprovalRecord } from '@lumenflow/protocol';
import type { BundleMode } from '@lumenflow/verifier';
import { createApprovalRequest, resolveApproval } from './approvals.js';
import type { ApprovalAction, ApprovalRequest } from './approvals.js';
import { CloudError } from './errors.js';
import { computeDiffStat, renderNoPrSummary, renderPrSummary } from './pr-summary.js';
import type { ApprovalGate, ApprovalAnswerStatus } from './run-ending.js';
import { capitalise } from './run-ending.js';
import type { RunContext } from './run-context.js';
import { settleUnlessInterrupted, throwIfAborted } from './waits.js';
import { prBranchName } from './pull-request/perform.js';

/** What the approval step settled: the record, the PR text it binds, and a person's answer when one was asked. */
export interface ApprovalOutcome {
  approval: ApprovalRecord;
  prText: string;
  answer: ApprovalAnswerStatus | undefined;
}

/** What the approval step needs from the steps before it. */
export interface ApprovalInputs {
  gate: ApprovalGate;
  patch: string;
  mode: BundleMode;
  /** Every proof file but approval.json, for the PR text given. */
  listProofFiles(prText: string): Record<string, string>;
  /** The runtime's baseline commit: the approval binds it, so the diff cannot be replayed onto another base. */
  baseCommit: string | undefined;
  /** The title and body the agent proposed at `finish`, if it did. */
  proposal: { title: string; body: string } | undefined;
}

/**
 * Step "approvals": records why no approval was asked for, or asks a person and
 * waits for the answer. Only a pull request into the Ask's own workspace and base can be proposed.
 *
 * @throws {CloudError} APPROVAL_SELF_APPROVAL, APPROVAL_INVALID for a bad answer; ABORTED.
 */
export async function settleApproval(ctx: RunContext, inputs: ApprovalInputs): Promise<ApprovalOutcome> {
  const { ask, runId } = ctx.request;
  const { gate } = inputs;
  if (gate.kind === 'not-requested') {
    ctx.progress({ step: 'approvals', state: 'skipped', detail: 'no approval requested' });
    const why = capitalise(gate.why);
    return { approval: notRequested(ctx, why), prText: ctx.redactText(renderNoPrSummary({ runId, ask, why })), answer: undefined };
  }
  if (gate.kind === 'allowed') {
    ctx.progress({ step: 'approvals', state: 'skipped', detail: `Rules allow pr.create (${gate.decision.decidingRuleId})` });
    const prText = ctx.redactText(renderNoPrSummary({ runId, ask, why: `${gate.why} This cut opens pull requests only through an approval.` }));
    return { approval: notRequested(ctx, gate.why), prText, answer: undefined };
  }

  const action: ApprovalAction = { kind: 'pr.create', repository: ask.workspace.repository, base: ask.workspace.baseBranch, head: prBranchName(runId), ...omitUndefined({ baseCommit: inputs.baseCommit }) };
  const approvalId = ctx.cloud.ids.next('apr');
  const requestedAt = ctx.cloud.clock.now();
  const requestFor = (prText: string): ApprovalRequest =>
    createApprovalRequest({
      approvalId,
      action,
      diff: inputs.patch,
      prText,
      decisionId: gate.decision.decisionId,
      requestedBy: ask.operator.id,
      requestedAt,
      ...omitUndefined({ ttlMs: ctx.request.approvalTtlMs }),
    });
  // The PR text names the request, so build it first from the fields that do not depend on its own hash.
  // Redacted before the request binds its hash, so what is approved is what the bundle holds.
  const prText = ctx.redactText(renderPrSummary({ runId, ask, stat: computeDiffStat(inputs.patch), tests: gate.tests, request: requestFor(''), proposal: inputs.proposal }));
  const request = requestFor(prText);
  ctx.progress({ step: 'approvals', state: 'waiting', detail: `waiting for approval ${approvalId} (pr.create ${action.repository}@${action.base})` });
  // Everything but the answer is final here, so whoever keeps this can finish the bundle without this process.
  await ctx.request.onApprovalPending?.({ runId, askId: ask.askId, outDir: ctx.request.outDir, mode: inputs.mode, request, artifacts: inputs.listProofFiles(prText) });
  const answer = await settleUnlessInterrupted(ctx.request.approver(request, { diff: inputs.patch, prText }), ctx.request.signal);
  throwIfAborted(ctx.request.signal);
  try {
    const resolution = resolveApproval(request, answer, ctx.cloud.clock.now());
    ctx.progress({ step: 'approvals', state: resolution.decision === 'approved' ? 'ok' : 'failed', detail: `${resolution.decision} by ${resolution.approver}` });
    return { approval: { schemaVersion: 1, runId, askId: ask.askId, status: resolution.decision, request, resolution }, prText, answer: resolution.decision };
  } catch (error) {
    if (!(error instanceof CloudError) || error.code !== 'APPROVAL_EXPIRED') throw error;
    ctx.progress({ step: 'approvals', state: 'failed', detail: `expired at ${request.expiresAt}` });
    return { approval: { schemaVersion: 1, runId, askId: ask.askId, status: 'expired', request, resolution: null }, prText, answer: 'expired' };
  }
}

function notRequested(ctx: RunContext, reason: string): ApprovalRecord {
  return { schemaVersion: 1, runId: ctx.request.runId, askId: ctx.request.ask.askId, status: 'not_requested', request: null, resolution: null, notRequestedReason: reason };
}
