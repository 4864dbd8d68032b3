import { describeTestShortfall } from '@lumenflow/protocol';
import type { ChainLink, ReplayChain, TimelineEvent } from './types.js';

/**
 * Turns an assembled chain into timeline events, one per link, ordered by
 * time. Events the bundle gives no time (tests, PR) keep their place in chain
 * order, after everything timed that precedes them. Pure; the strings are bundle-derived and must be escaped for display.
 */
export function buildTimeline(chain: ReplayChain): TimelineEvent[] {
  const events = chain.links.map((link) => describe(link));
  // Sort by time, stably; an untimed event borrows the latest time of the links
  // before it, so it never jumps ahead of something the chain did earlier.
  let carried = Number.NEGATIVE_INFINITY;
  const keyed = events.map((event, index) => {
    const t = event.at === null ? Number.NaN : Date.parse(event.at);
    if (!Number.isNaN(t)) carried = Math.max(carried, t);
    return { event, index, key: Number.isNaN(t) ? carried : t };
  });
  keyed.sort((a, b) => a.key - b.key || a.index - b.index);
  return keyed.map((k) => k.event);
}

function event(at: string | null, step: TimelineEvent['step'], what: string, status: string, durationMs: number | null, ref: string | null): TimelineEvent {
  return { at, step, what, status, durationMs, ref, problemCodes: [] };
}

function span(start: string, end: string): number | null {
  const d = Date.parse(end) - Date.parse(start);
  return Number.isFinite(d) ? d : null;
}

function describe(link: ChainLink): TimelineEvent {
  switch (link.step) {
    case 'ask': {
      const { ask } = link;
      return event(ask.createdAt, 'ask', `${ask.askId} from ${ask.operator.displayName}: ${oneLine(ask.intent, 120)}`, 'received', null, ask.askId);
    }
    case 'policy': {
      const d = link.decision;
      const gate = d.toolCallId === undefined ? '' : ` for ${d.toolCallId}`;
      return event(d.timestamp, 'policy', `${d.evaluatedAt} rules: ${d.scope.kind} ${oneLine(d.scope.target, 80)}${gate}, rule ${d.decidingRuleId}`, d.effect, null, d.decisionId);
    }
    case 'dispatch': {
      const s = link.session;
      const r = s.runtime;
      return event(s.startedAt, 'dispatch', `session ${s.sessionId} on runtime ${r.runtimeId} (${r.os}/${r.arch}, node ${r.nodeVersion}), runtime key ${r.keyId}`, 'opened', span(s.startedAt, s.endedAt), s.sessionId);
    }
    case 'tool_call': {
      const { call, decision } = link.toolCall;
      const exit = call.exitCode === undefined ? '' : ` (exit ${call.exitCode})`;
      const allowedBy = decision === null ? `no decision ${call.decisionId}` : `${decision.effect} ${decision.decisionId}`;
      return event(call.startedAt, 'tool_call', `${call.tool}: ${oneLine(call.inputSummary, 100)} [${allowedBy}]`, `${call.status}${exit}`, span(call.startedAt, call.endedAt), call.toolCallId);
    }
    case 'tests': {
      const t = link.testResults;
      if (t.status === 'not_run') return event(null, 'tests', `tests not run: ${oneLine(t.reason, 100)}`, 'not_run', null, null);
      const c = t.counts;
      const shortfall = t.incomplete === undefined ? '' : `; incomplete: ${describeTestShortfall(t.incomplete)}`;
      const passed = c.failed === 0 && t.exitCode === 0 && t.incomplete === undefined;
      return event(null, 'tests', `${t.command.join(' ')}: ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped of ${c.total}${shortfall}`, passed ? 'passed' : 'failed', t.durationMs, null);
    }
    case 'approval_request': {
      const r = link.request;
      const a = r.action;
      const decided = link.approval.resolution?.decidedAt;
      return event(r.requestedAt, 'approval_request', `${r.approvalId}: ${r.requestedBy} asks to open a PR on ${a.repository} ${a.base} ← ${a.head}, expires ${r.expiresAt}`, link.approval.status === 'expired' ? 'expired' : 'waiting', decided === undefined ? null : span(r.requestedAt, decided), r.approvalId);
    }
    case 'approval_resolution': {
      const r = link.resolution;
      return event(r.decidedAt, 'approval_resolution', `${r.approver}: ${oneLine(r.reason, 100)}`, r.decision, null, link.approval.request?.approvalId ?? null);
    }
    case 'approval_not_requested':
      return event(null, 'approval_request', `no approval requested: ${oneLine(link.approval.notRequestedReason ?? 'no reason recorded', 100)}`, 'not_requested', null, null);
    case 'pr':
      // Nothing is pushed to a code host in this cut: an approved PR is recorded, never opened.
      return link.approved
        ? event(null, 'pr', `${oneLine(link.title, 80)} (approved; recorded, not opened: nothing is pushed to a code host)`, 'approved', null, null)
        : event(null, 'pr', oneLine(link.title, 110), 'not_opened', null, null);
    case 'proof': {
      const m = link.manifest;
      return event(m.createdAt ?? null, 'proof', `bundle ${m.runId ?? '?'} (${m.mode ?? '?'}) signed by ${m.keyId ?? 'an unnamed key'}`, 'signed', null, null);
    }
  }
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
