import { describeTestShortfall } from '@lumenflow/protocol';
import type { PolicyDecisionRecord, SessionEndedMessage, TestResults } from '@lumenflow/protocol';
import type { BundleMode } from '@lumenflow/verifier';
import type { RunEnding } from './run-types.js';

/** What a run knows once its session has ended: all the ending is decided from. Plain data. */
export interface SessionFacts {
  /** The first scope Cloud's Rules denied, if any: the session was halted before any tool call. */
  cloudDeny: PolicyDecisionRecord | undefined;
  /** Cloud's decision on `pr.create` for the Ask's own workspace and base, if the Ask requested it. */
  prDecision: PolicyDecisionRecord | undefined;
  /** `<repository>@<base>`, the only pull request the run may propose. */
  prTarget: string;
  ended: Pick<SessionEndedMessage, 'outcome' | 'reason' | 'code' | 'workspaceUnchanged'>;
  /** The decisions the runtime's own Rules made. */
  runtimeDecisions: readonly PolicyDecisionRecord[];
  testResults: TestResults | undefined;
  /** The change the bundle carries ('' for none). */
  patch: string;
}

/** Whether the run asks a person before the pull request, and why not when it does not. */
export type ApprovalGate =
  /** No approval is requested: `why` (a sentence, lower-case first) says what ended the run. */
  | { kind: 'not-requested'; ending: RunEnding; why: string }
  /** Cloud's Rules allow the pull request without a person. */
  | { kind: 'allowed'; decision: PolicyDecisionRecord; why: string }
  /** A person must answer the approval request for `decision`; the PR text reports `tests`. */
  | { kind: 'ask'; decision: PolicyDecisionRecord; tests: Extract<TestResults, { status: 'completed' }> };

/** A person's answer to the approval request, or its expiry. */
export type ApprovalAnswerStatus = 'approved' | 'rejected' | 'expired';

/** How the run ended, and the one sentence that says why. */
export interface RunConclusion {
  ending: RunEnding;
  summary: string;
}

/**
 * Decides, from the ended session alone, whether the run asks for an approval.
 * Only a completed session with a full, passing test run and a change, whose Ask
 * requested `pr.create` for its own workspace, gets one. Pure.
 */
export function decideApprovalGate(facts: SessionFacts): ApprovalGate {
  const { cloudDeny, ended, testResults: tests, prDecision } = facts;
  const stop = (ending: RunEnding, why: string): ApprovalGate => ({ kind: 'not-requested', ending, why });
  if (cloudDeny !== undefined) {
    return stop(
      'blocked',
      `Rules denied ${cloudDeny.scope.kind} ${cloudDeny.scope.target} (rule ${cloudDeny.decidingRuleId}: ${cloudDeny.reason}), so the run halted before any tool call and the workspace was ${ended.workspaceUnchanged ? 'left unchanged' : 'changed'}.`,
    );
  }
  if (ended.outcome === 'halted') {
    const runtimeDeny = facts.runtimeDecisions.find((d) => d.effect !== 'allow' && d.attribution === undefined);
    return stop('runtime-halted', `the runtime's Rules stopped the run: ${ended.reason}${runtimeDeny ? ` (${runtimeDeny.reason})` : ''}.`);
  }
  if (ended.outcome === 'failed') return stop('runtime-failed', `the runtime failed: ${ended.code ?? 'FAILED'}: ${ended.reason}.`);
  if (tests?.status !== 'completed') return stop('tests-failed', 'the tests did not run.');
  if (tests.incomplete !== undefined) {
    return stop('tests-failed', `the test run did not complete (${describeTestShortfall(tests.incomplete)}); no pull request is asked for without a full test run.`);
  }
  if (tests.exitCode !== 0 || tests.counts.failed > 0) {
    return stop(
      'tests-failed',
      `the tests failed (${tests.counts.failed} of ${tests.counts.total} failed, exit code ${tests.exitCode}); no pull request is asked for with failing tests.`,
    );
  }
  if (facts.patch === '') return stop('not-requested', 'the run changed no file, so there is nothing to propose.');
  if (prDecision === undefined) return stop('not-requested', `the Ask did not request pr.create for ${facts.prTarget}.`);
  if (prDecision.effect === 'allow') return { kind: 'allowed', decision: prDecision, why: `Rules allow pr.create without approval (rule ${prDecision.decidingRuleId}).` };
  return { kind: 'ask', decision: prDecision, tests };
}

/**
 * Decides how the run ended from its approval gate and, when a person was asked, the answer. Pure.
 *
 * @throws {TypeError} when `answer` is missing for a gate that asked, or given for one that did not.
 */
export function decideRunEnding(
  gate: ApprovalGate,
  answer: ApprovalAnswerStatus | undefined,
  pullRequest?: { code?: string | undefined; message?: string | undefined; provider: string; branch: string; url?: string | undefined; number?: number | undefined; existing?: boolean | undefined },
): RunConclusion {
  if ((gate.kind === 'ask') !== (answer !== undefined)) throw new TypeError(`an approval answer belongs to exactly the gates that ask (gate ${gate.kind}, answer ${answer ?? 'none'})`);
  if (pullRequest !== undefined && answer === 'approved') {
    if (pullRequest.code !== undefined) {
      return { ending: 'pr-failed', summary: `The pull request was approved, but the ${pullRequest.provider} step failed: ${pullRequest.code}: ${pullRequest.message ?? 'no detail'}.` };
    }
    const where = pullRequest.url === undefined ? `branch ${pullRequest.branch}` : `#${pullRequest.number ?? '?'} ${pullRequest.url}`;
    const what = pullRequest.provider === 'patch' ? `kept as pull-request.patch (for ${pullRequest.branch})` : pullRequest.provider === 'git-remote' ? `pushed to ${where}` : `${pullRequest.existing === true ? 'already open' : 'opened'}: ${where}`;
    return { ending: 'approved', summary: `The change passed its tests, the pull request was approved and ${what}.` };
  }
  switch (gate.kind) {
    case 'not-requested':
      return { ending: gate.ending, summary: capitalise(gate.why) };
    case 'allowed':
      return { ending: 'no-approval-needed', summary: capitalise(gate.why) };
    case 'ask':
      return { ending: answer ?? 'expired', summary: ANSWER_SUMMARIES[answer ?? 'expired'] };
  }
}

const ANSWER_SUMMARIES: Record<ApprovalAnswerStatus, string> = {
  approved: 'The change passed its tests and the pull request was approved.',
  rejected: 'The change passed its tests; the approver rejected the pull request, so none was opened.',
  expired: 'The approval request expired before it was answered; no pull request was opened.',
};

/** A Cloud deny, or runtime denies with no tool call at all, make a policy-blocked bundle. Pure. */
export function decideBundleMode(cloudDenied: boolean, toolCalls: number, decisions: readonly PolicyDecisionRecord[]): BundleMode {
  return cloudDenied || (toolCalls === 0 && decisions.some((d) => d.effect === 'deny')) ? 'policy-blocked' : 'happy';
}

/** The test results the bundle carries when the runtime sent none. */
export function createNotRunResults(runId: string, gate: ApprovalGate): TestResults {
  const why = gate.kind === 'not-requested' ? gate.why : '';
  return { schemaVersion: 1, runId, status: 'not_run', reason: `No tests ran: ${why || 'the session ended before the test step.'}` };
}

/** The sentence's first letter in upper case. */
export function capitalise(text: string): string {
  return text === '' ? text : `${text[0]?.toUpperCase() ?? ''}${text.slice(1)}`;
}
