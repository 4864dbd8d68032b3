import { canonicalize, describeTestShortfall } from '@lumenflow/protocol';
import type { PolicyDecisionRecord, SessionEndedMessage, TestResults } from '@lumenflow/protocol';
import { evaluateScope, toDecisionRecord } from '@lumenflow/policy';
import { CloudError } from './errors.js';
import { selectRuntime } from './registry.js';
import type { EnrolledRuntime } from './registry.js';
import type { DispatchedSession, RunContext } from './run-context.js';
import { createSessionInbox } from './session-inbox.js';
import type { SessionAccepted } from './session-inbox.js';
import { settleWithin, throwIfAborted } from './waits.js';

/** Step "ask": the run starts from the Ask as submitted. */
export function announceAsk(ctx: RunContext): void {
  const { ask } = ctx.request;
  ctx.progress({ step: 'ask', state: 'running', detail: ask.askId });
  ctx.progress({ step: 'ask', state: 'ok', detail: `${ask.askId} from ${ask.operator.id}: ${ask.requestedScopes.length} scopes requested` });
}

/**
 * Step "dispatch", first half: picks an enrolled runtime by the Ask's labels and
 * starts listening to a new session on it.
 *
 * @throws {CloudError} NO_MATCHING_RUNTIME when no available runtime carries every label.
 */
export function dispatchAsk(ctx: RunContext, available: readonly EnrolledRuntime[]): DispatchedSession {
  const { ask, runId } = ctx.request;
  ctx.progress({ step: 'dispatch', state: 'running', detail: `labels ${ask.runtimeLabels.join(', ') || '(none)'}` });
  const runtime = selectRuntime(available, ask.runtimeLabels);
  if (runtime === undefined) {
    ctx.progress({ step: 'dispatch', state: 'failed', detail: 'no runtime matches' });
    throw new CloudError('NO_MATCHING_RUNTIME', `no enrolled runtime has every label of [${ask.runtimeLabels.join(', ')}]`);
  }
  const sessionId = ctx.cloud.ids.next('ses');
  const inbox = createSessionInbox(runtime, runId, ask.askId);
  ctx.sessions.set(sessionId, inbox);
  return { runtime, sessionId, inbox };
}

/**
 * Step "dispatch", second half: opens the session on the runtime and waits
 * (bounded) until it accepts, or ends it at once: a runtime that refuses the
 * session (an agent or repository it does not serve) answers with
 * `session.ended`, which the run still writes and signs (see {@link acceptRefusal}).
 *
 * @throws {CloudError} SESSION_TIMEOUT when the runtime does not answer in time;
 *   MESSAGE_REJECTED for a forged or misplaced message; ABORTED.
 */
export async function awaitAcceptance(ctx: RunContext, session: DispatchedSession): Promise<SessionAccepted | SessionEndedMessage> {
  const { ask, runId } = ctx.request;
  const { runtime, sessionId, inbox } = session;
  const { fileName, document } = ctx.cloud.rules;
  await ctx.send({
    type: 'session.open',
    messageId: ctx.messageId(),
    runId,
    sessionId,
    runtimeId: runtime.runtimeId,
    ask,
    cloudRules: { fileName, document: JSON.parse(canonicalize(document)) as never },
  });
  const wait = await settleWithin(inbox.accepted.promise, ctx.sessionTimeoutMs, ctx.request.signal);
  if (wait.timedOut) {
    ctx.progress({ step: 'dispatch', state: 'failed', detail: `no answer within ${ctx.sessionTimeoutMs} ms` });
    throw new CloudError('SESSION_TIMEOUT', `runtime ${runtime.runtimeId} did not accept session ${sessionId} within ${ctx.sessionTimeoutMs} ms`);
  }
  const accepted = wait.value;
  if ('type' in accepted) ctx.progress({ step: 'dispatch', state: 'failed', detail: `${accepted.code ?? 'FAILED'}: ${accepted.reason}` });
  else ctx.progress({ step: 'dispatch', state: 'ok', detail: `runtime ${runtime.runtimeId}, session ${sessionId}` });
  throwIfAborted(ctx.request.signal);
  return accepted;
}

/**
 * A session the runtime ended at open: no Cloud Rules ran and no tool call
 * happened; what the node-session records is when it ended and the boundary it
 * would have run in. The runtime's own signed deny (if it refused by its local
 * configuration) is in the inbox like any decision.
 */
export function acceptRefusal(ctx: RunContext, refused: SessionEndedMessage): { accepted: Pick<SessionAccepted, 'startedAt' | 'sandbox'>; ruling: CloudRuling } {
  ctx.progress({ step: 'rules', state: 'skipped', detail: 'the runtime refused the session' });
  ctx.progress({ step: 'tool-calls', state: 'skipped', detail: 'no session' });
  const sandbox = refused.sandbox ?? { kind: 'none' as const, reason: 'the runtime ended the session before it had a sandbox or started any process' };
  return { accepted: { startedAt: refused.endedAt, sandbox }, ruling: { decisions: [], deny: undefined } };
}

/** Cloud's Rules on the Ask: one decision per requested scope. */
export interface CloudRuling {
  decisions: PolicyDecisionRecord[];
  /** The first denied scope; any deny halts the session before it runs. */
  deny: PolicyDecisionRecord | undefined;
}

/** Step "rules": every requested scope, one decision each, before anything runs. */
export function evaluateCloudRules(ctx: RunContext): CloudRuling {
  const { ask, runId } = ctx.request;
  ctx.progress({ step: 'rules', state: 'running', detail: `${ask.requestedScopes.length} scopes` });
  const decisions = ask.requestedScopes.map((scope) =>
    toDecisionRecord(evaluateScope({ cloud: ctx.cloud.rules }, scope, {}), {
      decisionId: ctx.cloud.ids.next('cdec'),
      timestamp: ctx.now(),
      runId,
      askId: ask.askId,
      evaluatedAt: 'cloud',
    }),
  );
  const deny = decisions.find((d) => d.effect === 'deny');
  const tally = (effect: string): number => decisions.filter((d) => d.effect === effect).length;
  const tallyText = `${tally('allow')} allow, ${tally('approval_required')} approval_required, ${tally('deny')} deny`;
  if (deny === undefined) ctx.progress({ step: 'rules', state: 'ok', detail: tallyText });
  else ctx.progress({ step: 'rules', state: 'failed', detail: `${tallyText}; denied ${deny.scope.kind} ${deny.scope.target} by ${deny.decidingRuleId}` });
  return { decisions, deny };
}

/**
 * Step "tool-calls": starts the session (or halts it on a Cloud deny) and collects
 * the runtime's evidence until the session ends.
 *
 * @throws {CloudError} MESSAGE_REJECTED for a forged or misplaced message; ABORTED.
 */
export async function collectSession(ctx: RunContext, session: DispatchedSession, ruling: CloudRuling): Promise<SessionEndedMessage> {
  const { runId } = ctx.request;
  const { sessionId, inbox } = session;
  let ended: SessionEndedMessage;
  if (ruling.deny !== undefined) {
    await ctx.send({ type: 'session.halt', messageId: ctx.messageId(), runId, sessionId, reason: `Rules denied ${ruling.deny.scope.kind} ${ruling.deny.scope.target}` });
    ended = await awaitSessionEnd(ctx, session);
    ctx.progress({ step: 'tool-calls', state: 'skipped', detail: 'halted by Rules before any tool call' });
  } else {
    ctx.progress({ step: 'tool-calls', state: 'running', detail: `session ${sessionId}` });
    inbox.onItem = (detail) => ctx.progress({ step: 'tool-calls', state: 'item', detail });
    await ctx.send({ type: 'session.start', messageId: ctx.messageId(), runId, sessionId });
    ended = await awaitSessionEnd(ctx, session);
    inbox.onItem = undefined;
    const okEnd = ended.outcome === 'completed';
    ctx.progress({
      step: 'tool-calls',
      state: okEnd ? 'ok' : 'failed',
      detail: `${inbox.toolCalls.length} calls; ${okEnd ? describeTests(inbox.testResults) : ended.reason}`,
    });
  }
  throwIfAborted(ctx.request.signal);
  if (inbox.rejection !== undefined) throw inbox.rejection;
  return ended;
}

/**
 * A runtime that never ends the session: stop listening to it, ask it to stop,
 * and record the session as failed so the evidence still gets signed.
 */
async function awaitSessionEnd(ctx: RunContext, session: DispatchedSession): Promise<SessionEndedMessage> {
  const { runId } = ctx.request;
  const { runtime, sessionId, inbox } = session;
  const wait = await settleWithin(inbox.ended.promise, ctx.sessionTimeoutMs, ctx.request.signal);
  if (!wait.timedOut) return wait.value;
  ctx.sessions.delete(sessionId);
  ctx.log('cloud.session-timeout', { sessionId, timeoutMs: ctx.sessionTimeoutMs });
  await ctx
    .send({ type: 'session.halt', messageId: ctx.messageId(), runId, sessionId, reason: `no end of session within ${ctx.sessionTimeoutMs} ms` })
    .catch(() => undefined);
  return {
    type: 'session.ended',
    messageId: `timeout-${sessionId}`,
    runId,
    sessionId,
    outcome: 'failed',
    reason: `the runtime did not end the session within ${ctx.sessionTimeoutMs} ms`,
    code: 'SESSION_TIMEOUT',
    workspaceUnchanged: false,
    endedAt: ctx.now(),
    signature: { keyId: runtime.keyId, value: '' },
  } as SessionEndedMessage;
}

function describeTests(results: TestResults | undefined): string {
  if (results === undefined || results.status !== 'completed') return 'tests not run';
  const tally = `tests ${results.counts.passed}/${results.counts.total} passed`;
  return results.incomplete === undefined ? tally : `${tally}, incomplete: ${describeTestShortfall(results.incomplete)}`;
}
