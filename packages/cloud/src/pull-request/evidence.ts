import { OPEN_PULL_REQUEST_TOOL, canonicalize, computeSha256Digest } from '@lumenflow/protocol';
import type { ApprovalRecord, PolicyDecisionRecord, PullRequestOutput, ToolCallRecord } from '@lumenflow/protocol';

/** The reserved rule id of Cloud's pr.create decision that an approval grants. */
export const APPROVAL_GRANT_RULE_ID = 'approval.granted';

function digest(value: unknown): string {
  return computeSha256Digest(new TextEncoder().encode(canonicalize(value)));
}

/**
 * The evidence of the pull-request step, pure: Cloud's `pr.create` decision
 * (allowed by the approval, at the time the step starts), then the tool-call
 * record whose `pullRequest` names what was pushed and opened, the actionHash
 * executed, and the code when it failed. Both are Cloud's records: the
 * bundle's signature covers them, as it covers Cloud's other decisions.
 */
export function buildPullRequestEvidence(opts: {
  runId: string;
  askId: string;
  sessionId: string;
  decisionId: string;
  toolCallId: string;
  /** The approval_required decision the approval answered. */
  gate: PolicyDecisionRecord;
  approval: ApprovalRecord;
  output: PullRequestOutput;
  startedAt: string;
  endedAt: string;
}): { decision: PolicyDecisionRecord; toolCall: ToolCallRecord } {
  const request = opts.approval.request;
  const resolution = opts.approval.resolution;
  const grant = request === null || resolution === null
    ? 'no approval grants it'
    : `approval ${request.approvalId} (${resolution.decision} by ${resolution.approver} at ${resolution.decidedAt}) grants it for actionHash ${request.actionHash}`;
  const decision: PolicyDecisionRecord = {
    schemaVersion: 1,
    decisionId: opts.decisionId,
    timestamp: opts.startedAt,
    runId: opts.runId,
    askId: opts.askId,
    evaluatedAt: 'cloud',
    scope: opts.gate.scope,
    effect: 'allow',
    matchedRuleIds: [...opts.gate.matchedRuleIds],
    decidingRuleId: APPROVAL_GRANT_RULE_ID,
    reason: `pr.create needs approval (rule ${opts.gate.decidingRuleId}); ${grant}.`,
    policyDigest: opts.gate.policyDigest,
    toolCallId: opts.toolCallId,
    warnings: [],
  };
  const input = { provider: opts.output.provider, remote: opts.output.remote, branch: opts.output.branch, baseCommit: opts.output.baseCommit, actionHash: opts.output.actionHash };
  const toolCall: ToolCallRecord = {
    schemaVersion: 1,
    toolCallId: opts.toolCallId,
    runId: opts.runId,
    askId: opts.askId,
    sessionId: opts.sessionId,
    tool: OPEN_PULL_REQUEST_TOOL,
    scope: opts.gate.scope,
    inputSummary: `${opts.output.provider} ${opts.output.remote} ${opts.output.branch}`.slice(0, 500),
    inputHash: digest(input),
    decisionId: opts.decisionId,
    startedAt: opts.startedAt,
    endedAt: opts.endedAt,
    status: opts.output.code === undefined ? 'succeeded' : 'failed',
    outputHash: digest(opts.output),
    pullRequest: opts.output,
  };
  return { decision, toolCall };
}
