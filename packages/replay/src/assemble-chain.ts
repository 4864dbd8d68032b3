import { computeSha256Digest } from '@lumenflow/protocol';
import type { PolicyDecisionRecord } from '@lumenflow/protocol';
import type { ChainLink, ChainText, ChainToolCall, ReplayBundleFiles, ReplayChain } from './types.js';

/** `sha256:` plus the lowercase hex SHA-256 of the bytes (the protocol's digest, named for replay's public API). */
export function hashBytes(bytes: Uint8Array): string {
  return computeSha256Digest(bytes);
}

/**
 * Rebuilds the chain of authority from parsed bundle files: Ask → Rules at
 * Cloud → Dispatch → each tool call with the decision that allowed it → tests →
 * approval request and resolution → PR → Proof. Pure: no I/O, and it trusts
 * nothing beyond the schemas; {@link checkChain} judges whether the links hold.
 */
export function assembleChain(files: ReplayBundleFiles): ReplayChain {
  const decisions = files.decisions ?? [];
  const calls = files.toolCalls ?? [];
  const approval = files.approval;
  const approvalDecisionId = approval?.request?.decisionId;

  // Indexes, not a scan of every decision per call: a hostile bundle with a
  // hundred thousand of each would otherwise keep replay busy for minutes.
  const byId = new Map<string, PolicyDecisionRecord>();
  const byCall = new Map<string, PolicyDecisionRecord[]>();
  // Changes a call's process made, judged after it ran: shown right after the call.
  const byAttribution = new Map<string, PolicyDecisionRecord[]>();
  const order = new Map<PolicyDecisionRecord, number>();
  decisions.forEach((decision, index) => {
    order.set(decision, index);
    if (!byId.has(decision.decisionId)) byId.set(decision.decisionId, decision);
    const owner = decision.attribution?.toolCallId;
    if (owner !== undefined) {
      const list = byAttribution.get(owner);
      if (list === undefined) byAttribution.set(owner, [decision]);
      else list.push(decision);
    }
    if (decision.toolCallId !== undefined) {
      const list = byCall.get(decision.toolCallId);
      if (list === undefined) byCall.set(decision.toolCallId, [decision]);
      else list.push(decision);
    }
  });

  const toolCalls: ChainToolCall[] = calls.map((call) => ({
    call,
    decision: byId.get(call.decisionId) ?? null,
    otherDecisions: (byCall.get(call.toolCallId) ?? []).filter((d) => d.decisionId !== call.decisionId),
  }));

  const placed = new Set<PolicyDecisionRecord>();
  const links: ChainLink[] = [];
  if (files.ask !== null) links.push({ step: 'ask', ask: files.ask });
  for (const decision of decisions) {
    if (decision.evaluatedAt === 'cloud' && decision.toolCallId === undefined && decision.decisionId !== approvalDecisionId) {
      links.push({ step: 'policy', decision });
      placed.add(decision);
    }
  }
  if (files.session !== null) links.push({ step: 'dispatch', session: files.session });
  for (const toolCall of toolCalls) {
    const candidates = byCall.get(toolCall.call.toolCallId) ?? [];
    const own = toolCall.decision !== null && !candidates.includes(toolCall.decision) ? [toolCall.decision] : [];
    // In file order, as a scan of all decisions would give.
    const gating = [...own, ...candidates].filter((d) => !placed.has(d)).sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
    for (const decision of gating) {
      links.push({ step: 'policy', decision });
      placed.add(decision);
    }
    links.push({ step: 'tool_call', toolCall });
    for (const decision of byAttribution.get(toolCall.call.toolCallId) ?? []) {
      if (placed.has(decision)) continue;
      links.push({ step: 'policy', decision });
      placed.add(decision);
    }
  }
  for (const decision of decisions) {
    if (!placed.has(decision) && decision.decisionId !== approvalDecisionId) {
      links.push({ step: 'policy', decision });
      placed.add(decision);
    }
  }
  if (files.testResults !== null) links.push({ step: 'tests', testResults: files.testResults });
  for (const decision of decisions) {
    if (!placed.has(decision)) {
      links.push({ step: 'policy', decision });
      placed.add(decision);
    }
  }
  if (approval !== null) {
    if (approval.request !== null) links.push({ step: 'approval_request', approval, request: approval.request });
    if (approval.resolution !== null) links.push({ step: 'approval_resolution', approval, resolution: approval.resolution });
    if (approval.request === null && approval.resolution === null) links.push({ step: 'approval_not_requested', approval });
  }
  const prSummary = toText(files.prSummary);
  if (prSummary !== null) links.push({ step: 'pr', approved: approval?.status === 'approved', title: extractTitle(prSummary.text) });
  if (files.manifest !== null) links.push({ step: 'proof', manifest: files.manifest });

  return {
    dir: files.dir,
    readable: files.readable,
    runId: files.manifest?.runId ?? files.session?.runId ?? decisions[0]?.runId ?? files.approval?.runId ?? files.testResults?.runId ?? null,
    mode: files.manifest?.mode ?? null,
    ask: files.ask,
    session: files.session,
    decisions,
    toolCalls,
    testResults: files.testResults,
    approval,
    diff: toText(files.diff),
    prSummary,
    replayLink: files.replayLink,
    manifest: files.manifest,
    links,
    digests: files.digests,
    readProblems: files.problems,
    hasDecisionFile: files.decisions !== null,
    hasToolCallFile: files.toolCalls !== null,
  };
}

function toText(bytes: Uint8Array | null): ChainText | null {
  if (bytes === null) return null;
  // Not fatal: a non-UTF-8 file is already a read problem; show it with U+FFFD, hash the real bytes.
  return { text: new TextDecoder('utf-8').decode(bytes), sha256: hashBytes(bytes) };
}

function extractTitle(markdown: string): string {
  for (const line of markdown.split('\n')) {
    const trimmed = line.replace(/^#+\s*/, '').trim();
    if (trimmed !== '') return trimmed.length > 200 ? `${trimmed.slice(0, 199)}…` : trimmed;
  }
  return '(empty PR text)';
}
