import { AskSchema, NodeSessionSchema, PolicyDecisionRecordSchema, canonicalize, parseStrictJson } from '@lumenflow/protocol';
import type { ApprovalRecord, Clock } from '@lumenflow/protocol';
import { buildPullRequestEvidence } from './evidence.js';
import { performPullRequest } from './perform.js';
import type { EarlyBaseFetch, PullRequestConfig, PullRequestStepResult } from './perform.js';

/** What the step adds to a run: the proof files with its records (and the patch provider's files), and what it did. */
export interface PullRequestStepOutcome {
  artifacts: Record<string, string>;
  result: PullRequestStepResult;
}

/**
 * The pull-request step over a run's proof files: for an approved request,
 * carries out the approved action with the configured provider and appends
 * its evidence (Cloud's pr.create decision and the `open_pull_request` call)
 * to policy-decisions.jsonl and tool-calls.jsonl. The live run and a restarted
 * Cloud finishing a stored approval both call this, on the same files, so both
 * push the same bytes and record them the same way. Undefined when the
 * approval is not approved (nothing to do).
 */
export async function applyPullRequestStep(opts: {
  config: PullRequestConfig;
  /** The proof files, without approval.json. */
  artifacts: Readonly<Record<string, string>>;
  approval: ApprovalRecord;
  clock: Clock;
  /** The base branch's fetch the live run started early (startEarlyBaseFetch), if any. */
  early?: EarlyBaseFetch;
}): Promise<PullRequestStepOutcome | undefined> {
  const { approval, artifacts } = opts;
  const request = approval.request;
  if (approval.status !== 'approved' || request === null) return undefined;
  const ask = AskSchema.parse(parseStrictJson(artifacts['ask.json'] ?? ''));
  const session = NodeSessionSchema.parse(parseStrictJson(artifacts['node-session.json'] ?? ''));
  const decisionsText = artifacts['policy-decisions.jsonl'] ?? '';
  const gate = decisionsText
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => PolicyDecisionRecordSchema.parse(parseStrictJson(line)))
    .find((d) => d.decisionId === request.decisionId);
  if (gate === undefined) throw new RangeError(`policy-decisions.jsonl has no decision ${request.decisionId}`);
  const startedAt = opts.clock.now();
  const result = await performPullRequest(opts.config, {
    runId: approval.runId,
    ask,
    approval,
    patch: artifacts['file-diff.patch'] ?? '',
    prText: artifacts['pr-summary.md'] ?? '',
    // The runtime's signed word for the base (its evidence.diff receipt), checked against the approved one.
    baseCommit: session.runtimeEvidence?.receipts.find((r) => r.type === 'evidence.diff')?.baselineCommit ?? '',
    now: startedAt,
  }, opts.early);
  const endedAt = opts.clock.now();
  // Ids derived from the approval's: unique in the run, and the same for a restarted Cloud.
  const { decision, toolCall } = buildPullRequestEvidence({
    runId: approval.runId,
    askId: approval.askId,
    sessionId: session.sessionId,
    decisionId: `${request.approvalId}-grant`,
    toolCallId: `${request.approvalId}-pr`,
    gate,
    approval,
    output: result.output,
    startedAt: startedAt.toISOString(),
    endedAt: endedAt.toISOString(),
  });
  return {
    artifacts: {
      ...artifacts,
      ...result.files,
      'policy-decisions.jsonl': `${decisionsText}${canonicalize(decision)}\n`,
      'tool-calls.jsonl': `${artifacts['tool-calls.jsonl'] ?? ''}${canonicalize(toolCall)}\n`,
    },
    result,
  };
}
