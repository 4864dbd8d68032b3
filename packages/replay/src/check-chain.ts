import { OPEN_PULL_REQUEST_TOOL, comparePrincipals, computeApprovalActionHash, egressListAllows, isPullRequestCall } from '@lumenflow/protocol';
import type { ApprovalAction, PolicyDecisionRecord } from '@lumenflow/protocol';
import { listPatchPaths } from './patch-paths.js';
import type { ChainCheck, ChainCheckCode, ChainFinding, ReplayChain } from './types.js';

// What the verifier saw (`VerificationReport.manifestSha256`), so replay can bind
// what it shows to what was verified.
interface VerifiedBundleFacts {
  manifestSha256?: string | undefined;
}

type Rule = (chain: ReplayChain, out: ChainFinding[], verified: VerifiedBundleFacts) => void;

const RULES: Record<ChainCheckCode, { name: string; rule: Rule }> = {
  RECORD_INVALID: { name: 'proof files are present, match their schemas, and are the bytes the manifest lists', rule: checkRecords },
  ID_MISMATCH: { name: 'run, ask and session ids agree across all files', rule: checkIds },
  ID_DUPLICATE: { name: 'decision and tool-call ids are unique', rule: checkDuplicates },
  TIMESTAMPS_UNORDERED: { name: 'timestamps are in chain order', rule: checkTimestamps },
  TOOL_CALL_WITHOUT_ALLOW: { name: 'every tool call has an earlier runtime allow that names it', rule: checkToolCallAllows },
  TOOL_CALL_AFTER_HALT: { name: 'nothing ran after a deny halted the run', rule: checkHalts },
  APPROVAL_STATUS_INCONSISTENT: { name: 'approval status agrees with its request, resolution, decision and tests', rule: checkApprovalStatus },
  APPROVAL_HASH_MISMATCH: { name: "approval's action hash binds the diff and PR text in the bundle", rule: checkApprovalHash },
  APPROVAL_ORDER: { name: 'approval was requested after its decision and resolved before the PR', rule: checkApprovalOrder },
  APPROVAL_EXPIRED: { name: 'approval was given before it expired', rule: checkApprovalExpiry },
  SELF_APPROVAL: { name: 'approver is not the requester', rule: checkSelfApproval },
  TEST_COUNTS_MISMATCH: { name: 'test counts agree with the per-test list', rule: checkTestCounts },
  SANDBOX_MISMATCH: { name: "every tool process ran in the session's recorded sandbox", rule: checkSandbox },
  EGRESS_INCONSISTENT: { name: "the agent's egress tally agrees with its allow-list and with itself", rule: checkEgress },
  WRITE_UNATTRIBUTED: { name: 'every path in the diff is covered by an allowed fs.write, and every denied change was reverted', rule: checkAttribution },
  PULL_REQUEST_BINDING: { name: 'the pull request pushed executed the approved actionHash, once, and its head diff is file-diff.patch', rule: checkPullRequestBinding },
};

/** Every chain check, in the order replay runs and reports them: the order of the table above. */
export const CHAIN_CHECK_CODES: readonly ChainCheckCode[] = Object.freeze(Object.keys(RULES) as ChainCheckCode[]);

/**
 * Runs every chain check over an assembled chain and returns one result per
 * check, in {@link CHAIN_CHECK_CODES} order. Pure. A check whose inputs are
 * missing fails closed rather than passing by default. With `verified`, the
 * manifest replay read must be the one the verifier checked (RECORD_INVALID otherwise).
 */
export function checkChain(chain: ReplayChain, verified: { manifestSha256?: string | undefined } = {}): ChainCheck[] {
  return CHAIN_CHECK_CODES.map((code) => {
    const { name, rule } = RULES[code];
    const findings: ChainFinding[] = [];
    rule(chain, findings, verified);
    const check: ChainCheck = { name, code, ok: findings.length === 0, findings };
    const first = findings[0];
    if (first !== undefined) {
      const more = findings.length > 1 ? ` (+${findings.length - 1} more)` : '';
      check.detail = `${first.where}: ${first.message}${more}`;
    }
    return check;
  });
}

/** The approval's action hash of a stored request, by the rule Cloud bound it with ({@link computeApprovalActionHash}). */
export function computeActionHash(input: { action: ApprovalAction; diffSha256: string; prTextSha256: string }): string {
  return computeApprovalActionHash(input.action, input.diffSha256, input.prTextSha256);
}

function ms(timestamp: string): number {
  return Date.parse(timestamp);
}

function decisionWhere(d: PolicyDecisionRecord): string {
  return `policy-decisions.jsonl#${d.decisionId}`;
}

function checkRecords(chain: ReplayChain, out: ChainFinding[], verified: VerifiedBundleFacts): void {
  for (const problem of chain.readProblems) {
    out.push({ where: problem.line === undefined ? problem.file : `${problem.file}:${problem.line}`, message: `${problem.code}: ${problem.message}`, refs: [] });
  }
  // Replay reads manifest.json again. Comparing each file with that second read
  // proves nothing if the manifest itself was swapped (or removed) after the
  // verifier checked it, so the second read must be the verified bytes.
  if (verified.manifestSha256 !== undefined) {
    const read = Object.hasOwn(chain.digests, 'manifest.json') ? chain.digests['manifest.json'] : undefined;
    if (read === undefined) out.push({ where: 'manifest.json', message: 'could not be read again after verification', refs: [] });
    else if (read !== verified.manifestSha256) {
      out.push({ where: 'manifest.json', message: `bytes read (sha256 ${read}) differ from the manifest the verifier checked (${verified.manifestSha256})`, refs: [] });
    }
  }
  // The verifier hashed the files first and replay read them afterwards; if the
  // bytes differ, what is shown is not what was verified (edited, or swapped in between).
  const listed = chain.manifest?.artifactDigests;
  if (listed === undefined) return;
  for (const [name, sha256] of Object.entries(chain.digests)) {
    if (name === 'manifest.json') continue;
    const expected = Object.hasOwn(listed, name) ? listed[name] : undefined;
    if (expected === undefined) out.push({ where: name, message: 'not listed in manifest.json', refs: [] });
    else if (expected !== sha256) out.push({ where: name, message: `bytes read (sha256 ${sha256}) differ from manifest.json (${expected})`, refs: [] });
  }
}

function checkIds(chain: ReplayChain, out: ChainFinding[]): void {
  const runId = chain.runId;
  const askId = chain.ask?.askId ?? chain.session?.askId ?? null;
  const sessionId = chain.session?.sessionId ?? null;
  const expect = (where: string, field: string, actual: string, expected: string | null, refs: string[] = []): void => {
    if (expected !== null && actual !== expected) out.push({ where, message: `${field} is ${actual}, expected ${expected}`, refs });
  };
  if (chain.manifest?.runId !== undefined) expect('manifest.json', 'runId', chain.manifest.runId, runId);
  if (chain.session !== null) {
    expect('node-session.json', 'runId', chain.session.runId, runId);
    expect('node-session.json', 'askId', chain.session.askId, askId);
  }
  for (const d of chain.decisions) {
    expect(decisionWhere(d), 'runId', d.runId, runId, [d.decisionId]);
    expect(decisionWhere(d), 'askId', d.askId, askId, [d.decisionId]);
  }
  for (const { call } of chain.toolCalls) {
    const where = `tool-calls.jsonl#${call.toolCallId}`;
    expect(where, 'runId', call.runId, runId, [call.toolCallId]);
    expect(where, 'askId', call.askId, askId, [call.toolCallId]);
    expect(where, 'sessionId', call.sessionId, sessionId, [call.toolCallId]);
  }
  if (chain.testResults !== null) expect('test-results.json', 'runId', chain.testResults.runId, runId);
  if (chain.approval !== null) {
    const refs = chain.approval.request === null ? [] : [chain.approval.request.approvalId];
    expect('approval.json', 'runId', chain.approval.runId, runId, refs);
    expect('approval.json', 'askId', chain.approval.askId, askId, refs);
  }
  if (chain.replayLink !== null && runId !== null) {
    const match = /\/runs\/([^/\s?#]+)\n?$/.exec(chain.replayLink);
    if (match?.[1] !== runId) out.push({ where: 'replay-link.txt', message: `does not end in /runs/${runId}`, refs: [] });
  }
}

function checkDuplicates(chain: ReplayChain, out: ChainFinding[]): void {
  const seen = (file: string, ids: string[]): void => {
    const counted = new Set<string>();
    for (const id of ids) {
      if (counted.has(id)) out.push({ where: `${file}#${id}`, message: `id ${id} appears more than once`, refs: [id] });
      counted.add(id);
    }
  };
  seen('policy-decisions.jsonl', chain.decisions.map((d) => d.decisionId));
  seen('tool-calls.jsonl', chain.toolCalls.map((t) => t.call.toolCallId));
}

function checkTimestamps(chain: ReplayChain, out: ChainFinding[]): void {
  const before = (where: string, refs: string[], earlierName: string, earlier: string, laterName: string, later: string): void => {
    if (ms(earlier) > ms(later)) out.push({ where, message: `${laterName} ${later} is before ${earlierName} ${earlier}`, refs });
  };
  const { ask, session } = chain;
  if (session !== null) {
    before('node-session.json', [], 'startedAt', session.startedAt, 'endedAt', session.endedAt);
    if (ask !== null) before('node-session.json', [], 'the Ask', ask.createdAt, 'startedAt', session.startedAt);
  }
  let previous: PolicyDecisionRecord | undefined;
  for (const d of chain.decisions) {
    if (ask !== null) before(decisionWhere(d), [d.decisionId], 'the Ask', ask.createdAt, 'timestamp', d.timestamp);
    if (previous !== undefined) before(decisionWhere(d), [d.decisionId], `the previous decision's timestamp`, previous.timestamp, 'timestamp', d.timestamp);
    previous = d;
  }
  let previousStart: string | undefined;
  for (const { call } of chain.toolCalls) {
    const where = `tool-calls.jsonl#${call.toolCallId}`;
    const refs = [call.toolCallId];
    before(where, refs, 'startedAt', call.startedAt, 'endedAt', call.endedAt);
    if (previousStart !== undefined) before(where, refs, `the previous call's startedAt`, previousStart, 'startedAt', call.startedAt);
    if (session !== null && isPullRequestCall(call)) {
      // Cloud opens the pull request after the session, on the approved bytes.
      before(where, refs, 'the session end', session.endedAt, 'startedAt', call.startedAt);
    } else if (session !== null) {
      before(where, refs, 'the session start', session.startedAt, 'startedAt', call.startedAt);
      before(where, refs, 'endedAt', call.endedAt, 'the session end', session.endedAt);
    }
    previousStart = call.startedAt;
  }
  const request = chain.approval?.request ?? null;
  if (request !== null) {
    const refs = [request.approvalId];
    if (ask !== null) before('approval.json', refs, 'the Ask', ask.createdAt, 'requestedAt', request.requestedAt);
    // The request binds a diff, so every call that could change it must be over.
    for (const { call } of chain.toolCalls) {
      if (call.scope.kind !== 'pr.create') before('approval.json', refs, `${call.toolCallId}'s endedAt`, call.endedAt, 'requestedAt', request.requestedAt);
    }
  }
  const createdAt = chain.manifest?.createdAt;
  if (createdAt !== undefined && !Number.isNaN(ms(createdAt))) {
    const latest: Array<[string, string]> = [];
    if (ask !== null) latest.push(['the Ask', ask.createdAt]);
    if (session !== null) latest.push(['the session end', session.endedAt]);
    for (const d of chain.decisions) latest.push([d.decisionId, d.timestamp]);
    for (const { call } of chain.toolCalls) latest.push([call.toolCallId, call.endedAt]);
    if (request !== null) latest.push(['the approval request', request.requestedAt]);
    const resolution = chain.approval?.resolution ?? null;
    if (resolution !== null) latest.push(['the approval resolution', resolution.decidedAt]);
    for (const [name, at] of latest) before('manifest.json', [], name, at, 'createdAt', createdAt);
  }
}

function checkToolCallAllows(chain: ReplayChain, out: ChainFinding[]): void {
  for (const { call, decision, otherDecisions } of chain.toolCalls) {
    const where = `tool-calls.jsonl#${call.toolCallId}`;
    const refs = [call.toolCallId];
    if (decision === null) {
      out.push({ where, message: `names decision ${call.decisionId}, which is not in policy-decisions.jsonl`, refs });
      continue;
    }
    refs.push(decision.decisionId);
    if (decision.effect !== 'allow') out.push({ where, message: `its decision ${decision.decisionId} is ${decision.effect}, not allow`, refs });
    // Cloud's pull-request call is gated by Cloud's decision (the approval's grant); every other call by the runtime's.
    const gatedAt = isPullRequestCall(call) ? 'cloud' : 'runtime';
    if (decision.evaluatedAt !== gatedAt) out.push({ where, message: `its decision ${decision.decisionId} was made at ${decision.evaluatedAt}, not by the ${gatedAt === 'cloud' ? 'Cloud' : 'runtime'}`, refs });
    if (decision.toolCallId !== call.toolCallId) {
      out.push({ where, message: `its decision ${decision.decisionId} gates ${decision.toolCallId ?? 'no tool call'}, not this call`, refs });
    }
    if (ms(decision.timestamp) > ms(call.startedAt)) out.push({ where, message: `its decision ${decision.decisionId} was recorded after the call started`, refs });
    if (decision.scope.kind !== call.scope.kind || decision.scope.target !== call.scope.target) {
      out.push({ where, message: `its decision ${decision.decisionId} is for ${decision.scope.kind} ${decision.scope.target}, the call used ${call.scope.kind} ${call.scope.target}`, refs });
    }
    for (const other of otherDecisions) {
      if (other.effect !== 'allow') out.push({ where, message: `decision ${other.decisionId} ${other.effect === 'deny' ? 'denied' : 'held'} this call (${other.effect}), yet it ran`, refs: [...refs, other.decisionId] });
    }
  }
}

function checkHalts(chain: ReplayChain, out: ChainFinding[]): void {
  // A deny on a change a process made reverts that change; it does not halt the run.
  const denies = chain.decisions.filter((d) => d.effect === 'deny' && d.attribution === undefined);
  // Each call is judged once, against the first deny that halted the run before it:
  // a deny at Cloud refuses the Ask itself, so no tool call may exist at all; a
  // runtime deny fails closed from that moment on. (One pass over the calls, not
  // one per deny: many denies times many calls must not stall replay.)
  const cloudDeny = denies.find((d) => d.evaluatedAt === 'cloud');
  let firstRuntimeDeny: PolicyDecisionRecord | undefined;
  for (const d of denies) {
    if (d.evaluatedAt !== 'cloud' && (firstRuntimeDeny === undefined || ms(d.timestamp) < ms(firstRuntimeDeny.timestamp))) firstRuntimeDeny = d;
  }
  for (const { call } of chain.toolCalls) {
    const deny = cloudDeny ?? (firstRuntimeDeny !== undefined && ms(call.startedAt) >= ms(firstRuntimeDeny.timestamp) ? firstRuntimeDeny : undefined);
    if (deny !== undefined) {
      out.push({ where: `tool-calls.jsonl#${call.toolCallId}`, message: `ran after deny ${deny.decisionId} (${deny.decidingRuleId}) halted the run`, refs: [call.toolCallId, deny.decisionId] });
    }
  }
  for (const deny of denies) {
    const approval = chain.approval;
    if (approval?.request != null && (deny.evaluatedAt === 'cloud' || ms(approval.request.requestedAt) >= ms(deny.timestamp))) {
      out.push({ where: 'approval.json', message: `an approval was requested after deny ${deny.decisionId} halted the run`, refs: [approval.request.approvalId, deny.decisionId] });
    }
  }
}

function checkApprovalStatus(chain: ReplayChain, out: ChainFinding[]): void {
  const approval = chain.approval;
  if (approval === null) return;
  const { status, request, resolution } = approval;
  const refs = request === null ? [] : [request.approvalId];
  const say = (message: string): void => void out.push({ where: 'approval.json', message, refs });
  if (status === 'not_requested') {
    if (request !== null) say('status is not_requested, but a request is recorded');
    if (resolution !== null) say('status is not_requested, but a resolution is recorded');
    if (approval.notRequestedReason === undefined) say('status is not_requested without a notRequestedReason');
    return;
  }
  if (approval.notRequestedReason !== undefined) say(`status is ${status}, but a notRequestedReason is recorded`);
  if (request === null) {
    say(`status is ${status}, but no request is recorded`);
    return;
  }
  if (status === 'expired' && resolution !== null) say('status is expired, but a resolution is recorded');
  if ((status === 'approved' || status === 'rejected') && resolution?.decision !== status) {
    say(`status is ${status}, but the resolution is ${resolution === null ? 'missing' : resolution.decision}`);
  }
  const decision = chain.decisions.find((d) => d.decisionId === request.decisionId);
  if (decision === undefined) say(`the request names decision ${request.decisionId}, which is not in policy-decisions.jsonl`);
  else if (decision.effect !== 'approval_required' || decision.scope.kind !== 'pr.create') {
    say(`the request names decision ${decision.decisionId}, a ${decision.effect} for ${decision.scope.kind}, not an approval_required for pr.create`);
  }
  const ask = chain.ask;
  if (ask !== null && (request.action.repository !== ask.workspace.repository || request.action.base !== ask.workspace.baseBranch)) {
    say(`the action targets ${request.action.repository}@${request.action.base}, the Ask ${ask.workspace.repository}@${ask.workspace.baseBranch}`);
  }
  // A PR is only asked for on green tests; an approval of a failing change is not one to honour.
  const tests = chain.testResults;
  if (tests === null || tests.status !== 'completed') say('an approval was requested without a completed test run');
  else if (tests.counts.failed > 0 || tests.exitCode !== 0) say('an approval was requested although the tests failed');
  else if (tests.incomplete !== undefined) say('an approval was requested although the test run did not complete');
}

function checkApprovalHash(chain: ReplayChain, out: ChainFinding[]): void {
  const request = chain.approval?.request ?? null;
  if (request === null) return;
  const refs = [request.approvalId];
  const say = (message: string): void => void out.push({ where: 'approval.json', message, refs });
  const recomputed = computeActionHash(request);
  if (recomputed !== request.actionHash) say(`actionHash ${request.actionHash} is not the hash of its action and digests (${recomputed})`);
  if (chain.diff === null) say('file-diff.patch is missing, so the approved diff cannot be checked');
  else if (chain.diff.sha256 !== request.diffSha256) say(`diffSha256 ${request.diffSha256} differs from file-diff.patch (${chain.diff.sha256})`);
  // Only an approved request's PR text must be in the bundle: after a rejection
  // or expiry pr-summary.md explains why no PR was opened instead.
  if (chain.approval?.status === 'approved') {
    if (chain.prSummary === null) say('pr-summary.md is missing, so the approved PR text cannot be checked');
    else if (chain.prSummary.sha256 !== request.prTextSha256) say(`prTextSha256 ${request.prTextSha256} differs from pr-summary.md (${chain.prSummary.sha256})`);
  }
}

function checkApprovalOrder(chain: ReplayChain, out: ChainFinding[]): void {
  const approval = chain.approval;
  const request = approval?.request ?? null;
  const resolution = approval?.resolution ?? null;
  if (request !== null) {
    const refs = [request.approvalId];
    if (resolution !== null && ms(resolution.decidedAt) < ms(request.requestedAt)) {
      out.push({ where: 'approval.json', message: `decided at ${resolution.decidedAt}, before it was requested at ${request.requestedAt}`, refs });
    }
    const decision = chain.decisions.find((d) => d.decisionId === request.decisionId);
    if (decision !== undefined && ms(decision.timestamp) > ms(request.requestedAt)) {
      out.push({ where: 'approval.json', message: `requested before its decision ${decision.decisionId} was recorded`, refs: [...refs, decision.decisionId] });
    }
  }
  for (const { call } of chain.toolCalls) {
    if (call.scope.kind !== 'pr.create') continue;
    const where = `tool-calls.jsonl#${call.toolCallId}`;
    if (approval?.status !== 'approved' || resolution === null) {
      out.push({ where, message: 'opened a PR without an approval', refs: [call.toolCallId] });
    } else if (ms(call.startedAt) < ms(resolution.decidedAt)) {
      out.push({ where, message: `opened the PR before the approval at ${resolution.decidedAt}`, refs: [call.toolCallId] });
    }
  }
}

function checkApprovalExpiry(chain: ReplayChain, out: ChainFinding[]): void {
  const request = chain.approval?.request ?? null;
  if (request === null) return;
  const refs = [request.approvalId];
  if (ms(request.expiresAt) <= ms(request.requestedAt)) {
    out.push({ where: 'approval.json', message: `expiresAt ${request.expiresAt} is not after requestedAt ${request.requestedAt}`, refs });
  }
  const resolution = chain.approval?.resolution ?? null;
  // A late rejection changes nothing; a late approval would authorise an action nobody may approve any more.
  if (resolution?.decision === 'approved' && ms(resolution.decidedAt) > ms(request.expiresAt)) {
    out.push({ where: 'approval.json', message: `approved at ${resolution.decidedAt}, after the request expired at ${request.expiresAt}`, refs });
  }
}

function checkSelfApproval(chain: ReplayChain, out: ChainFinding[]): void {
  const request = chain.approval?.request ?? null;
  const resolution = chain.approval?.resolution ?? null;
  if (request === null || resolution === null) return;
  // The rule Cloud applies (@lumenflow/protocol identity.ts): ids are ASCII and compared with
  // case folded. An id outside that syntax may be a look-alike of the requester ("op.d\u0430na"
  // with a Cyrillic a, fullwidth letters, a zero-width space), so it never counts as someone else.
  const same = comparePrincipals(resolution.approver, request.requestedBy);
  if (same === 'same') {
    out.push({ where: 'approval.json', message: `approver ${resolution.approver} is the requester`, refs: [request.approvalId] });
  } else if (same === 'invalid') {
    out.push({ where: 'approval.json', message: `approver ${JSON.stringify(resolution.approver)} or requester ${JSON.stringify(request.requestedBy)} is not an ASCII id, so they cannot be told apart`, refs: [request.approvalId] });
  }
}

function checkTestCounts(chain: ReplayChain, out: ChainFinding[]): void {
  const results = chain.testResults;
  if (results === null || results.status !== 'completed') return;
  const { counts, tests } = results;
  const say = (message: string): void => void out.push({ where: 'test-results.json', message, refs: [] });
  const tally = { passed: 0, failed: 0, skipped: 0 };
  for (const test of tests) tally[test.status]++;
  if (counts.total !== tests.length) say(`counts.total is ${counts.total}, the list holds ${tests.length} tests`);
  for (const key of ['passed', 'failed', 'skipped'] as const) {
    if (counts[key] !== tally[key]) say(`counts.${key} is ${counts[key]}, the list has ${tally[key]}`);
  }
  if (counts.passed + counts.failed + counts.skipped !== counts.total) say('passed + failed + skipped is not total');
  if (counts.failed > 0 && results.exitCode === 0) say(`exit code 0 with ${counts.failed} failed tests`);
  // Each planned test that never reported stands in the list as failed; fewer is a shortfall hidden.
  const missing = results.incomplete === undefined || results.incomplete.planned === null ? 0 : results.incomplete.planned - results.incomplete.reported;
  if (missing > counts.failed) say(`the plan is short of ${missing} results, but only ${counts.failed} tests are failed`);
}

function checkSandbox(chain: ReplayChain, out: ChainFinding[]): void {
  const session = chain.session;
  if (session === null) return;
  const boundary = session.runtime.sandbox;
  for (const { call } of chain.toolCalls) {
    const where = `tool-calls.jsonl#${call.toolCallId}`;
    const refs = [call.toolCallId];
    if (call.scope.kind !== 'shell.exec') {
      if (call.sandbox !== undefined) out.push({ where, message: `names a sandbox, but a ${call.scope.kind} call runs no process`, refs });
      continue;
    }
    if (call.sandbox === undefined) {
      out.push({ where, message: 'ran a process but names no sandbox', refs });
      continue;
    }
    if (call.sandbox.kind !== boundary.kind) out.push({ where, message: `ran in ${call.sandbox.kind}, but node-session.json records ${boundary.kind}`, refs });
    else if (call.sandbox.kind === 'bubblewrap' && boundary.kind === 'bubblewrap' && call.sandbox.profileDigest !== boundary.profileDigest) {
      out.push({ where, message: `ran under profile ${call.sandbox.profileDigest}, but node-session.json records ${boundary.profileDigest}`, refs });
    }
  }
}

const DENIED_REASONS = new Set(['not-listed', 'non-public-address', 'not-connect', 'too-many-connections']);
const FAILED_REASONS = new Set(['not-resolved', 'unreachable']);

// The tally is the runtime's report (ADR 0027); what Replay can hold it to is
// its own list and its own sums: no tunnel to a host the list does not name.
function checkEgress(chain: ReplayChain, out: ChainFinding[]): void {
  const agent = chain.session?.agent;
  const egress = agent?.egress;
  if (agent === undefined || egress === undefined) return;
  const say = (message: string): void => void out.push({ where: 'node-session.json#agent.egress', message, refs: [] });
  const network = agent.network;
  if (typeof network !== 'object') {
    say(`an egress tally, but the agent's network is ${network ?? 'not recorded'}, not an allow-list`);
    return;
  }
  const sums = { allowed: 0, denied: 0, failed: 0, bytesOut: 0, bytesIn: 0 };
  for (const d of egress.destinations) {
    const name = `${d.host}:${d.port}`;
    sums[d.outcome] += d.requests;
    sums.bytesOut += d.bytesOut;
    sums.bytesIn += d.bytesIn;
    if (d.outcome === 'allowed' && !egressListAllows(network.allow, d.host, d.port)) say(`a tunnel to ${name}, which the allow-list does not name`);
    if (d.outcome === 'allowed' && d.reason !== undefined) say(`${name} allowed with a reason (${d.reason})`);
    if (d.outcome === 'denied' && (d.reason === undefined || !DENIED_REASONS.has(d.reason))) say(`${name} denied with reason ${d.reason ?? '(none)'}`);
    if (d.outcome === 'failed' && (d.reason === undefined || !FAILED_REASONS.has(d.reason))) say(`${name} failed with reason ${d.reason ?? '(none)'}`);
    if (d.outcome !== 'allowed' && d.bytesOut + d.bytesIn > 0) say(`${name} ${d.outcome}, yet carried bytes`);
  }
  for (const key of ['allowed', 'denied', 'failed'] as const) {
    if (sums[key] > egress[key]) say(`the destinations list ${sums[key]} ${key} requests, the count says ${egress[key]}`);
  }
  const itemised = sums.allowed + sums.denied + sums.failed;
  if (itemised + egress.omitted !== egress.allowed + egress.denied + egress.failed) {
    say(`${itemised} itemised and ${egress.omitted} omitted requests, but ${egress.allowed + egress.denied + egress.failed} counted`);
  }
  if (sums.bytesOut > egress.bytesOut || sums.bytesIn > egress.bytesIn) say('the destinations carry more bytes than the totals');
}

function checkAttribution(chain: ReplayChain, out: ChainFinding[]): void {
  const calls = new Map(chain.toolCalls.map((t) => [t.call.toolCallId, t]));
  const covered = new Set<string>();
  // A write_file call: its own allow decision covers its path.
  for (const { call, decision } of chain.toolCalls) {
    if (call.scope.kind === 'fs.write' && call.status === 'succeeded' && decision?.effect === 'allow') covered.add(call.scope.target);
  }
  for (const d of chain.decisions) {
    const attribution = d.attribution;
    if (attribution === undefined) continue;
    const where = decisionWhere(d);
    const refs = [d.decisionId, attribution.toolCallId];
    const owner = calls.get(attribution.toolCallId);
    if (d.scope.kind !== 'fs.write' || d.evaluatedAt !== 'runtime') out.push({ where, message: `an attributed change must be a runtime fs.write decision, not ${d.evaluatedAt} ${d.scope.kind}`, refs });
    if (d.toolCallId !== undefined) out.push({ where, message: 'an attributed change may not also gate a tool call', refs });
    if (owner === undefined) {
      out.push({ where, message: `attributes a change to ${attribution.toolCallId}, which is not in tool-calls.jsonl`, refs });
      continue;
    }
    if (owner.call.scope.kind !== 'shell.exec') out.push({ where, message: `attributes a change to ${attribution.toolCallId}, a ${owner.call.scope.kind} call that runs no process`, refs });
    if (ms(d.timestamp) < ms(owner.call.startedAt)) out.push({ where, message: `was judged before ${attribution.toolCallId} started`, refs });
    if (d.effect !== 'allow' && !attribution.reverted) out.push({ where, message: `${d.scope.target} was ${d.effect === 'deny' ? 'denied' : 'held'} but not reverted`, refs });
    if (d.effect === 'allow' && attribution.reverted) out.push({ where, message: `${d.scope.target} was allowed yet recorded as reverted`, refs });
    if (d.effect === 'allow' && !attribution.reverted && d.scope.kind === 'fs.write') covered.add(d.scope.target);
  }
  if (chain.diff === null) return;
  for (const path of listPatchPaths(chain.diff.text)) {
    if (!covered.has(path)) out.push({ where: 'file-diff.patch', message: `${path} changed, but no allowed fs.write covers it (no write_file call, no attributed process write)`, refs: [] });
  }
}

function checkPullRequestBinding(chain: ReplayChain, out: ChainFinding[]): void {
  const request = chain.approval?.request ?? null;
  let opened = 0;
  for (const { call } of chain.toolCalls) {
    const where = `tool-calls.jsonl#${call.toolCallId}`;
    const refs = [call.toolCallId];
    const say = (message: string): void => void out.push({ where, message, refs: request === null ? refs : [...refs, request.approvalId] });
    if (call.pullRequest !== undefined && !isPullRequestCall(call)) {
      say(`carries a pull-request output, but is ${call.tool} on ${call.scope.kind}, not ${OPEN_PULL_REQUEST_TOOL} on pr.create`);
      continue;
    }
    if (call.tool === OPEN_PULL_REQUEST_TOOL && call.pullRequest === undefined) {
      say(`${OPEN_PULL_REQUEST_TOOL} without its pull-request output`);
      continue;
    }
    const pr = call.pullRequest;
    if (pr === undefined) continue;
    opened++;
    if (opened > 1) say('a second pull-request call: an approval is used once');
    if (request === null || chain.approval?.status !== 'approved') {
      say('a pull-request call without an approved request');
      continue;
    }
    if (pr.actionHash !== request.actionHash) say(`executed actionHash ${pr.actionHash}, approved was ${request.actionHash}`);
    if (pr.branch !== request.action.head) say(`pushed branch ${pr.branch}, approved head was ${request.action.head}`);
    if (request.action.baseCommit !== undefined && pr.baseCommit !== request.action.baseCommit) say(`sits on ${pr.baseCommit}, approved base was ${request.action.baseCommit}`);
    if (call.status === 'failed') {
      if (pr.code === undefined) say('failed without a code');
      continue;
    }
    if (pr.code !== undefined) say(`succeeded, yet carries code ${pr.code}`);
    if (pr.headCommit === undefined || pr.headDiffSha256 === undefined) {
      say('succeeded without naming the head commit and its diff digest');
      continue;
    }
    if (chain.diff === null) say('file-diff.patch is missing, so the pushed diff cannot be compared');
    else if (pr.headDiffSha256 !== chain.diff.sha256) say(`the pushed head's diff (${pr.headDiffSha256}) is not file-diff.patch (${chain.diff.sha256})`);
  }
}
