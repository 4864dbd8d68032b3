import { setTimeout as delay } from 'node:timers/promises';
import { canonicalize, describeTestShortfall } from '@lumenflow/protocol';
import type {
  ApprovalRecord,
  SandboxInfo,
  Ask,
  Clock,
  CloudEndpoint,
  CloudToRuntimeMessage,
  IdSource,
  NodeSession,
  PolicyDecisionRecord,
  RuntimeReceipt,
  RuntimeToCloudMessage,
  SessionEndedMessage,
  TestResults,
  ToolCallRecord,
} from '@lumenflow/protocol';
import { evaluateScope, toDecisionRecord } from '@lumenflow/policy';
import type { RuleSet } from '@lumenflow/policy';
import { computeKeyId, encodePublicKeyDer, encodePublicKeyPem, parsePublicKeyPem, writeBundle } from '@lumenflow/verifier';
import type { BundleMode, SigningKey } from '@lumenflow/verifier';
import { createApprovalRequest, resolveApproval } from './approvals.js';
import { checkMessageSignature } from './message-signature.js';
import { formatJsonFile, formatJsonLines } from './proof-files.js';
import type { ApprovalRequest, Approver } from './approvals.js';
import { CloudError } from './errors.js';
import { computeDiffStat, renderNoPrSummary, renderPrSummary } from './pr-summary.js';
import { selectRuntime } from './registry.js';
import type { EnrolledRuntime } from './registry.js';

/** The user-facing steps of a run, in order. */
export const RUN_STEPS = ['ask', 'dispatch', 'rules', 'tool-calls', 'approvals', 'proof'] as const;
export type RunStep = (typeof RUN_STEPS)[number];

/** A progress report for the operator's screen; never part of the evidence. */
export interface RunProgress {
  step: RunStep;
  /** `running` opens a step, `item` reports inside it, the rest close it. `waiting` pauses on a person. */
  state: 'running' | 'item' | 'waiting' | 'ok' | 'failed' | 'skipped';
  detail: string;
}

/** How a run ended, for the caller to judge against what it intended. */
export type RunEnding =
  | 'approved'
  | 'rejected'
  | 'expired'
  | 'no-approval-needed'
  | 'not-requested'
  | 'blocked'
  | 'runtime-halted'
  | 'tests-failed'
  | 'runtime-failed';

export interface RunResult {
  runId: string;
  dir: string;
  keyId: string;
  mode: BundleMode;
  ending: RunEnding;
  /** Why the run ended so, in one sentence. */
  summary: string;
  toolCalls: number;
  decisions: number;
  approvalStatus: ApprovalRecord['status'];
  /** The runtime's code when its session did not complete (AGENT_UNKNOWN, AGENT_NO_FINISH, POLICY_DENIED…). */
  code?: string;
}

export interface CloudOptions {
  endpoint: CloudEndpoint;
  clock: Clock;
  ids: IdSource;
  /** The key that signs bundles (the Proof signer), distinct from any runtime's key. */
  signingKey: SigningKey;
  /** The Cloud rules every requested scope is evaluated against, and that runtimes enforce. */
  rules: RuleSet;
  /**
   * Whether an enrolled runtime can take work now (Connections: not lost). An Ask
   * goes only to one that can, and waits (bounded) while none can. Default: all can.
   */
  isRuntimeAvailable?: (runtimeId: string) => boolean;
  log?: (event: string, fields: Record<string, unknown>) => void;
}

export interface RunRequest {
  runId: string;
  ask: Ask;
  approver: Approver;
  /** Root the bundle directory `<outDir>/<runId>` is created in. */
  outDir: string;
  /** Full URL written to replay-link.txt. */
  replayUrl: string;
  approvalTtlMs?: number;
  /**
   * Longest wait for the runtime to accept the session, and then to end it
   * (default {@link DEFAULT_SESSION_TIMEOUT_MS}). A runtime that goes silent must
   * not hold the run forever: past it, the session counts as failed with
   * SESSION_TIMEOUT and the bundle is still written and signed.
   */
  sessionTimeoutMs?: number;
  signal?: AbortSignal;
  onProgress?: (event: RunProgress) => void;
  /**
   * Called once the run waits on a person, before the approver is asked: every
   * proof file but approval.json is final. A caller that stores this can finish
   * the bundle after a restart of this process (see `completePendingApproval`).
   */
  onApprovalPending?: (pending: PendingApprovalSnapshot) => Promise<void>;
}

/** A run paused at its approval gate: all it needs to become a signed bundle, but the answer. */
export interface PendingApprovalSnapshot {
  runId: string;
  askId: string;
  outDir: string;
  mode: BundleMode;
  request: ApprovalRequest;
  /** The proof files, without approval.json. */
  artifacts: Record<string, string>;
}

/** How long Cloud waits on a silent runtime by default: longer than any demo run, short of forever. */
export const DEFAULT_SESSION_TIMEOUT_MS = 10 * 60 * 1000;

export interface Cloud {
  /**
   * Resolves once at least one runtime carrying `labels` has enrolled.
   *
   * @throws {CloudError} RUNTIME_TIMEOUT when none has within `timeoutMs`; ABORTED on the signal.
   */
  waitForRuntime(labels: readonly string[], signal?: AbortSignal, timeoutMs?: number): Promise<void>;
  /**
   * Runs an Ask end to end: dispatch, Rules, the runtime's tool calls,
   * Approvals, and a signed bundle at `<outDir>/<runId>`.
   *
   * A session the runtime refuses at open still gives a signed bundle (ending `runtime-failed`).
   *
   * @throws {CloudError} NO_MATCHING_RUNTIME, SESSION_TIMEOUT (before the session was accepted), MESSAGE_REJECTED,
   *   APPROVAL_SELF_APPROVAL, APPROVAL_INVALID, ABORTED;
   *   {VerifierError} BUNDLE_EXISTS and other bundle-writing codes.
   */
  run(request: RunRequest): Promise<RunResult>;
}

interface SessionInbox {
  runtime: EnrolledRuntime;
  runId: string;
  askId: string;
  decisions: PolicyDecisionRecord[];
  toolCalls: ToolCallRecord[];
  testResults: TestResults | undefined;
  patch: string | undefined;
  accepted: Deferred<{ startedAt: string; baselineCommit: string; sandbox: SandboxInfo } | SessionEndedMessage>;
  ended: Deferred<SessionEndedMessage>;
  rejection: CloudError | undefined;
  onItem: ((detail: string) => void) | undefined;
}

/** Creates the Cloud side on one transport endpoint. Cloud never touches a runtime's objects, only its messages. */
export function createCloud(opts: CloudOptions): Cloud {
  const runtimes = new Map<string, EnrolledRuntime>();
  const sessions = new Map<string, SessionInbox>();
  const receipts = new Map<string, RuntimeReceipt[]>();
  const enrollWaiters = new Set<() => void>();
  const log = opts.log ?? (() => undefined);
  const isAvailable = opts.isRuntimeAvailable ?? (() => true);
  const available = (): EnrolledRuntime[] => [...runtimes.values()].filter((r) => isAvailable(r.runtimeId));
  const messageId = (): string => opts.ids.next('cmsg');
  const send = async (message: CloudToRuntimeMessage): Promise<void> => {
    log('cloud.send', { type: message.type, messageId: message.messageId });
    await opts.endpoint.send(message);
  };

  const handle = async (message: RuntimeToCloudMessage): Promise<void> => {
    log('cloud.receive', { type: message.type, messageId: message.messageId });
    if (message.type === 'runtime.enroll') {
      await enroll(message);
      return;
    }
    const inbox = sessions.get(message.sessionId);
    if (inbox === undefined || inbox.runId !== message.runId) {
      log('cloud.reject', { messageId: message.messageId, why: 'unknown session' });
      return;
    }
    if (!checkMessageSignature(message, inbox.runtime)) {
      // An unsigned or wrongly signed record never enters evidence; the session fails instead.
      failInbox(inbox, new CloudError('MESSAGE_REJECTED', `message ${message.messageId} is not signed by runtime ${inbox.runtime.runtimeId}`));
      return;
    }
    // Every transport: the runtime's signature is the only thing Cloud cannot forge, so the bundle keeps each one.
    appendReceipt(receipts, message);
    switch (message.type) {
      case 'session.accepted':
        inbox.accepted.resolve({ startedAt: message.startedAt, baselineCommit: message.baselineCommit, sandbox: message.sandbox });
        return;
      case 'evidence.policy-decision':
        if (!belongs(message.record, inbox)) return reject(inbox, message.messageId);
        inbox.decisions.push(message.record);
        inbox.onItem?.(`rule ${message.record.effect}: ${message.record.scope.kind} ${message.record.scope.target}`);
        return;
      case 'evidence.tool-call':
        if (!belongs(message.record, inbox) || message.record.sessionId !== message.sessionId) return reject(inbox, message.messageId);
        inbox.toolCalls.push(message.record);
        inbox.onItem?.(`${message.record.tool} ${message.record.status}: ${message.record.inputSummary}`);
        return;
      case 'evidence.test-results':
        if (message.record.runId !== inbox.runId) return reject(inbox, message.messageId);
        inbox.testResults = message.record;
        return;
      case 'evidence.diff':
        inbox.patch = message.patch;
        return;
      case 'session.ended':
        inbox.accepted.resolve(message);
        inbox.ended.resolve(message);
        return;
    }
  };

  const reject = (inbox: SessionInbox, id: string): void => {
    failInbox(inbox, new CloudError('MESSAGE_REJECTED', `message ${id} names another run, Ask or session`));
  };

  const enroll = async (message: Extract<RuntimeToCloudMessage, { type: 'runtime.enroll' }>): Promise<void> => {
    let publicKey: Uint8Array;
    try {
      publicKey = parsePublicKeyPem(message.publicKeyPem);
    } catch {
      log('cloud.enroll-refused', { runtimeId: message.runtimeId, why: 'bad key' });
      return;
    }
    const keyId = computeKeyId(encodePublicKeyDer(publicKey));
    const runtime: EnrolledRuntime = {
      runtimeId: message.runtimeId,
      keyId,
      publicKey,
      labels: [...message.labels],
      version: message.version,
      host: message.host,
    };
    // Proof of possession: the enrollment must be signed by the key it enrolls.
    if (!checkMessageSignature(message, runtime)) {
      log('cloud.enroll-refused', { runtimeId: message.runtimeId, why: 'bad signature' });
      return;
    }
    runtimes.set(runtime.runtimeId, runtime);
    log('cloud.enrolled', { runtimeId: runtime.runtimeId, keyId, labels: runtime.labels });
    await send({ type: 'runtime.enrolled', messageId: messageId(), inReplyTo: message.messageId, runtimeId: runtime.runtimeId, keyId });
    for (const wake of enrollWaiters) wake();
  };

  opts.endpoint.onMessage(handle);
  opts.endpoint.onError((error) => log('cloud.transport-error', { code: (error as { code?: unknown }).code ?? 'UNKNOWN' }));

  const waitForRuntime = (labels: readonly string[], signal?: AbortSignal, timeoutMs: number = DEFAULT_SESSION_TIMEOUT_MS): Promise<void> =>
    new Promise((resolve, reject) => {
      checkTimeout(timeoutMs);
      if (signal?.aborted) {
        reject(new CloudError('ABORTED', 'the run was interrupted'));
        return;
      }
      // Every way out releases the timer, the waiter and the abort listener.
      let finish = (error?: CloudError): void => {
        enrollWaiters.delete(check);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (error === undefined) resolve();
        else reject(error);
      };
      // A refused enrollment gets no reply, so without a bound this would wait forever.
      const timer = setTimeout(
        () => finish(new CloudError('RUNTIME_TIMEOUT', `no runtime with labels [${labels.join(', ')}] enrolled within ${timeoutMs} ms`)),
        timeoutMs,
      ).unref();
      const check = (): void => {
        if (selectRuntime(available(), labels) !== undefined) finish();
      };
      // A lost runtime can come back without enrolling again: look again now and then.
      const recheck = opts.isRuntimeAvailable === undefined ? undefined : setInterval(check, 250);
      recheck?.unref();
      const finishWithoutRecheck = finish;
      finish = (error?: CloudError): void => {
        if (recheck !== undefined) clearInterval(recheck);
        finishWithoutRecheck(error);
      };
      const onAbort = (): void => finish(new CloudError('ABORTED', 'the run was interrupted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      enrollWaiters.add(check);
      check();
    });

  const run = async (request: RunRequest): Promise<RunResult> => {
    const { ask, runId } = request;
    const progress = request.onProgress ?? (() => undefined);
    const checkAbort = (): void => {
      if (request.signal?.aborted) throw new CloudError('ABORTED', 'the run was interrupted');
    };
    const now = (): string => opts.clock.now().toISOString();
    const sessionTimeoutMs = request.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS;
    checkTimeout(sessionTimeoutMs);

    progress({ step: 'ask', state: 'running', detail: ask.askId });
    progress({ step: 'ask', state: 'ok', detail: `${ask.askId} from ${ask.operator.id}: ${ask.requestedScopes.length} scopes requested` });

    // Dispatch: pick an enrolled runtime by labels and open a session on it.
    progress({ step: 'dispatch', state: 'running', detail: `labels ${ask.runtimeLabels.join(', ') || '(none)'}` });
    const runtime = selectRuntime(available(), ask.runtimeLabels);
    if (runtime === undefined) {
      progress({ step: 'dispatch', state: 'failed', detail: 'no runtime matches' });
      throw new CloudError('NO_MATCHING_RUNTIME', `no enrolled runtime has every label of [${ask.runtimeLabels.join(', ')}]`);
    }
    const sessionId = opts.ids.next('ses');
    const inbox: SessionInbox = {
      runtime,
      runId,
      askId: ask.askId,
      decisions: [],
      toolCalls: [],
      testResults: undefined,
      patch: undefined,
      accepted: createDeferred(),
      ended: createDeferred(),
      rejection: undefined,
      onItem: undefined,
    };
    sessions.set(sessionId, inbox);
    try {
      await send({
        type: 'session.open',
        messageId: messageId(),
        runId,
        sessionId,
        runtimeId: runtime.runtimeId,
        ask,
        cloudRules: { fileName: opts.rules.fileName, document: JSON.parse(canonicalize(opts.rules.document)) as never },
      });
      const accepted = await waitFor(withTimeout(inbox.accepted.promise, sessionTimeoutMs), request.signal);
      if (accepted === TIMED_OUT) {
        progress({ step: 'dispatch', state: 'failed', detail: `no answer within ${sessionTimeoutMs} ms` });
        throw new CloudError('SESSION_TIMEOUT', `runtime ${runtime.runtimeId} did not accept session ${sessionId} within ${sessionTimeoutMs} ms`);
      }
      // A runtime that refuses the session at open (unknown agent or repository, no
      // such branch) ends it at once; the refusal is still written and signed.
      const refused = 'type' in accepted ? accepted : undefined;
      const opened = 'type' in accepted ? { startedAt: accepted.endedAt, sandbox: accepted.sandbox ?? { kind: 'none' as const, reason: 'the runtime ended the session before it started any process' } } : accepted;
      progress(refused === undefined ? { step: 'dispatch', state: 'ok', detail: `runtime ${runtime.runtimeId}, session ${sessionId}` } : { step: 'dispatch', state: 'failed', detail: `${refused.code ?? 'FAILED'}: ${refused.reason}` });
      checkAbort();

      // Rules at Cloud: every requested scope, one decision each, before anything runs.
      if (refused === undefined) progress({ step: 'rules', state: 'running', detail: `${ask.requestedScopes.length} scopes` });
      const cloudDecisions = (refused === undefined ? ask.requestedScopes : []).map((scope) =>
        toDecisionRecord(evaluateScope({ cloud: opts.rules }, scope, {}), {
          decisionId: opts.ids.next('cdec'),
          timestamp: now(),
          runId,
          askId: ask.askId,
          evaluatedAt: 'cloud',
        }),
      );
      const cloudDeny = cloudDecisions.find((d) => d.effect === 'deny');
      const tally = (effect: string): number => cloudDecisions.filter((d) => d.effect === effect).length;
      const tallyText = `${tally('allow')} allow, ${tally('approval_required')} approval_required, ${tally('deny')} deny`;

      // A runtime that never ends the session: stop listening to it, ask it to
      // stop, and record the session as failed so the evidence still gets signed.
      const awaitEnd = async (): Promise<SessionEndedMessage> => {
        const result = await waitFor(withTimeout(inbox.ended.promise, sessionTimeoutMs), request.signal);
        if (result !== TIMED_OUT) return result;
        sessions.delete(sessionId);
        log('cloud.session-timeout', { sessionId, timeoutMs: sessionTimeoutMs });
        await send({ type: 'session.halt', messageId: messageId(), runId, sessionId, reason: `no end of session within ${sessionTimeoutMs} ms` }).catch(() => undefined);
        return {
          type: 'session.ended',
          messageId: `timeout-${sessionId}`,
          runId,
          sessionId,
          outcome: 'failed',
          reason: `the runtime did not end the session within ${sessionTimeoutMs} ms`,
          code: 'SESSION_TIMEOUT',
          workspaceUnchanged: false,
          endedAt: now(),
          signature: { keyId: runtime.keyId, value: '' },
        } as SessionEndedMessage;
      };
      let ended: SessionEndedMessage;
      if (refused !== undefined) {
        ended = refused;
        progress({ step: 'rules', state: 'skipped', detail: 'the runtime refused the session' });
        progress({ step: 'tool-calls', state: 'skipped', detail: 'no session' });
      } else if (cloudDeny !== undefined) {
        progress({ step: 'rules', state: 'failed', detail: `${tallyText}; denied ${cloudDeny.scope.kind} ${cloudDeny.scope.target} by ${cloudDeny.decidingRuleId}` });
        await send({ type: 'session.halt', messageId: messageId(), runId, sessionId, reason: `Rules denied ${cloudDeny.scope.kind} ${cloudDeny.scope.target}` });
        ended = await awaitEnd();
        progress({ step: 'tool-calls', state: 'skipped', detail: 'halted by Rules before any tool call' });
      } else {
        progress({ step: 'rules', state: 'ok', detail: tallyText });
        progress({ step: 'tool-calls', state: 'running', detail: `session ${sessionId}` });
        inbox.onItem = (detail) => progress({ step: 'tool-calls', state: 'item', detail });
        await send({ type: 'session.start', messageId: messageId(), runId, sessionId });
        ended = await awaitEnd();
        inbox.onItem = undefined;
        const okEnd = ended.outcome === 'completed';
        progress({
          step: 'tool-calls',
          state: okEnd ? 'ok' : 'failed',
          detail: `${inbox.toolCalls.length} calls; ${okEnd ? describeTests(inbox.testResults) : ended.reason}`,
        });
      }
      checkAbort();
      if (inbox.rejection !== undefined) throw inbox.rejection;

      const decisions = [...cloudDecisions, ...inbox.decisions];
      const patch = cloudDeny === undefined ? (inbox.patch ?? '') : '';
      const nodeSession: NodeSession = {
        schemaVersion: 1,
        sessionId,
        runId,
        askId: ask.askId,
        runtime: {
          runtimeId: runtime.runtimeId,
          keyId: runtime.keyId,
          version: runtime.version,
          os: runtime.host.os,
          arch: runtime.host.arch,
          nodeVersion: runtime.host.nodeVersion,
          hostnameHash: runtime.host.hostnameHash,
          sandbox: opened.sandbox,
        },
        labels: [...runtime.labels],
        startedAt: opened.startedAt,
        endedAt: ended.endedAt,
        ...(ended.agent === undefined ? {} : { agent: ended.agent }),
        runtimeEvidence: { publicKeyPem: encodePublicKeyPem(runtime.publicKey), receipts: keptReceipts(receipts.get(sessionId) ?? [], patch, inbox.patch) },
      };

      // Approvals: only a completed session with passing tests and a change asks for one.
      // Only a pull request into the Ask's own workspace and base can be proposed.
      const prTarget = `${ask.workspace.repository}@${ask.workspace.baseBranch}`;
      const prDecision = cloudDecisions.find((d) => d.scope.kind === 'pr.create' && d.scope.target === prTarget);
      const runtimeDeny = inbox.decisions.find((d) => d.effect !== 'allow' && d.attribution === undefined);
      let ending: RunEnding;
      let why: string;
      if (cloudDeny !== undefined) {
        ending = 'blocked';
        why = `Rules denied ${cloudDeny.scope.kind} ${cloudDeny.scope.target} (rule ${cloudDeny.decidingRuleId}: ${cloudDeny.reason}), so the run halted before any tool call and the workspace was ${ended.workspaceUnchanged ? 'left unchanged' : 'changed'}.`;
      } else if (ended.outcome === 'halted') {
        ending = 'runtime-halted';
        why = `the runtime's Rules stopped the run: ${ended.reason}${runtimeDeny ? ` (${runtimeDeny.reason})` : ''}.`;
      } else if (ended.outcome === 'failed') {
        ending = 'runtime-failed';
        why = `the runtime ${refused === undefined ? 'failed' : 'refused the session'}: ${ended.code ?? 'FAILED'}: ${ended.reason}.`;
      } else if (inbox.testResults?.status !== 'completed') {
        ending = 'tests-failed';
        why = 'the tests did not run.';
      } else if (inbox.testResults.incomplete !== undefined) {
        ending = 'tests-failed';
        why = `the test run did not complete (${describeTestShortfall(inbox.testResults.incomplete)}); no pull request is asked for without a full test run.`;
      } else if (inbox.testResults.exitCode !== 0 || inbox.testResults.counts.failed > 0) {
        ending = 'tests-failed';
        why = `the tests failed (${inbox.testResults.counts.failed} of ${inbox.testResults.counts.total} failed, exit code ${inbox.testResults.exitCode}); no pull request is asked for with failing tests.`;
      } else if (patch === '') {
        ending = 'not-requested';
        why = 'the run changed no file, so there is nothing to propose.';
      } else if (prDecision === undefined) {
        ending = 'not-requested';
        why = `the Ask did not request pr.create for ${prTarget}.`;
      } else {
        ending = prDecision.effect === 'allow' ? 'no-approval-needed' : 'approved';
        why = '';
      }

      const proofFiles = (prText: string): Record<string, string> => ({
        'ask.json': formatJsonFile(ask),
        'node-session.json': formatJsonFile(nodeSession),
        'policy-decisions.jsonl': formatJsonLines(decisions),
        'tool-calls.jsonl': formatJsonLines(inbox.toolCalls),
        'file-diff.patch': patch,
        'test-results.json': formatJsonFile(testResults),
        'pr-summary.md': prText,
        'replay-link.txt': `${request.replayUrl}\n`,
      });
      const testResults: TestResults =
        inbox.testResults ?? { schemaVersion: 1, runId, status: 'not_run', reason: `No tests ran: ${why || 'the session ended before the test step.'}` };

      let approval: ApprovalRecord;
      let prText: string;
      if (why !== '' || testResults.status !== 'completed' || prDecision === undefined) {
        progress({ step: 'approvals', state: 'skipped', detail: 'no approval requested' });
        approval = { schemaVersion: 1, runId, askId: ask.askId, status: 'not_requested', request: null, resolution: null, notRequestedReason: capitalise(why) };
        prText = renderNoPrSummary({ runId, ask, why: capitalise(why) });
      } else if (prDecision.effect === 'allow') {
        progress({ step: 'approvals', state: 'skipped', detail: `Rules allow pr.create (${prDecision.decidingRuleId})` });
        why = `Rules allow pr.create without approval (rule ${prDecision.decidingRuleId}).`;
        approval = { schemaVersion: 1, runId, askId: ask.askId, status: 'not_requested', request: null, resolution: null, notRequestedReason: why };
        prText = renderNoPrSummary({ runId, ask, why: `${why} This cut opens pull requests only through an approval.` });
        ending = 'no-approval-needed';
      } else {
        const action = { kind: 'pr.create' as const, repository: ask.workspace.repository, base: ask.workspace.baseBranch, head: `lumenflow/${runId}` };
        const approvalId = opts.ids.next('apr');
        const requestedAt = opts.clock.now();
        // The PR text names the request, so build it first from the fields that do not depend on its own hash.
        const draft: ApprovalRequest = createApprovalRequest({
          approvalId,
          action,
          diff: patch,
          prText: '',
          decisionId: prDecision.decisionId,
          requestedBy: ask.operator.id,
          requestedAt,
          ...(request.approvalTtlMs === undefined ? {} : { ttlMs: request.approvalTtlMs }),
        });
        prText = renderPrSummary({ runId, ask, stat: computeDiffStat(patch), tests: testResults, request: draft });
        const approvalRequest = createApprovalRequest({
          approvalId,
          action,
          diff: patch,
          prText,
          decisionId: prDecision.decisionId,
          requestedBy: ask.operator.id,
          requestedAt,
          ...(request.approvalTtlMs === undefined ? {} : { ttlMs: request.approvalTtlMs }),
        });
        progress({ step: 'approvals', state: 'waiting', detail: `waiting for approval ${approvalId} (pr.create ${action.repository}@${action.base})` });
        // Everything but the answer is final here, so whoever keeps this can finish the bundle without this process.
        await request.onApprovalPending?.({
          runId,
          askId: ask.askId,
          outDir: request.outDir,
          mode: inbox.toolCalls.length === 0 && decisions.some((d) => d.effect === 'deny') ? 'policy-blocked' : 'happy',
          request: approvalRequest,
          artifacts: proofFiles(prText),
        });
        const answer = await waitFor(request.approver(approvalRequest, { diff: patch, prText }), request.signal);
        checkAbort();
        try {
          const resolution = resolveApproval(approvalRequest, answer, opts.clock.now());
          approval = { schemaVersion: 1, runId, askId: ask.askId, status: resolution.decision, request: approvalRequest, resolution };
          ending = resolution.decision;
          progress({ step: 'approvals', state: resolution.decision === 'approved' ? 'ok' : 'failed', detail: `${resolution.decision} by ${resolution.approver}` });
        } catch (error) {
          if (!(error instanceof CloudError) || error.code !== 'APPROVAL_EXPIRED') throw error;
          approval = { schemaVersion: 1, runId, askId: ask.askId, status: 'expired', request: approvalRequest, resolution: null };
          ending = 'expired';
          progress({ step: 'approvals', state: 'failed', detail: `expired at ${approvalRequest.expiresAt}` });
        }
      }

      // Proof: assemble the files and have the verifier package sign and write them atomically.
      checkAbort();
      progress({ step: 'proof', state: 'running', detail: 'assembling' });
      const noToolCall = inbox.toolCalls.length === 0;
      const anyDeny = decisions.some((d) => d.effect === 'deny');
      const mode: BundleMode = cloudDeny !== undefined || (noToolCall && anyDeny) ? 'policy-blocked' : 'happy';
      const artifacts: Record<string, string> = { ...proofFiles(prText), 'approval.json': formatJsonFile(approval) };
      const written = await writeBundle({ outDir: request.outDir, runId, mode, createdAt: now(), artifacts, signingKey: opts.signingKey });
      progress({ step: 'proof', state: 'ok', detail: `signed by ${written.keyId}` });
      return {
        runId,
        dir: written.dir,
        keyId: written.keyId,
        mode,
        ending,
        summary: summarise(ending, why),
        toolCalls: inbox.toolCalls.length,
        decisions: decisions.length,
        approvalStatus: approval.status,
        ...(ended.outcome !== 'completed' && ended.code !== undefined ? { code: ended.code } : {}),
      };
    } finally {
      sessions.delete(sessionId);
      receipts.delete(sessionId);
    }
  };

  return { waitForRuntime, run };
}

function failInbox(inbox: SessionInbox, error: CloudError): void {
  inbox.rejection ??= error;
  inbox.accepted.reject(error);
  inbox.ended.reject(error);
}

function belongs(record: { runId: string; askId: string }, inbox: SessionInbox): boolean {
  return record.runId === inbox.runId && record.askId === inbox.askId;
}

function describeTests(results: TestResults | undefined): string {
  if (results === undefined || results.status !== 'completed') return 'tests not run';
  const tally = `tests ${results.counts.passed}/${results.counts.total} passed`;
  return results.incomplete === undefined ? tally : `${tally}, incomplete: ${describeTestShortfall(results.incomplete)}`;
}

function summarise(ending: RunEnding, why: string): string {
  switch (ending) {
    case 'approved':
      return 'The change passed its tests and the pull request was approved.';
    case 'rejected':
      return 'The change passed its tests; the approver rejected the pull request, so none was opened.';
    case 'expired':
      return 'The approval request expired before it was answered; no pull request was opened.';
    default:
      return capitalise(why);
  }
}

function capitalise(text: string): string {
  return text === '' ? text : `${text[0]?.toUpperCase() ?? ''}${text.slice(1)}`;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function createDeferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Observed later by whoever awaits it; this keeps an early rejection from counting as unhandled.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

const TIMED_OUT = Symbol('timed out');

function checkTimeout(ms: number): void {
  if (!Number.isSafeInteger(ms) || ms < 1) throw new RangeError(`timeout must be a positive whole number of milliseconds, got ${ms}`);
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  // ref: false, a bound on a wait must never be what keeps the process alive; the
  // timer is cancelled as soon as the wait ends (its AbortError is observed by the race).
  const cancel = new AbortController();
  try {
    return await Promise.race([promise, delay(ms, TIMED_OUT, { ref: false, signal: cancel.signal })]);
  } finally {
    cancel.abort();
  }
}

function waitFor<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(new CloudError('ABORTED', 'the run was interrupted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new CloudError('ABORTED', 'the run was interrupted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

// A diff the bundle does not carry (Cloud halted the run) must not leave a receipt that matches nothing.
function keptReceipts(list: readonly RuntimeReceipt[], patch: string, received: string | undefined): RuntimeReceipt[] {
  return list.filter((r) => r.type !== 'evidence.diff' || patch === received);
}

// What a verifier needs, with the bundle's files, to rebuild each signed evidence message.
function appendReceipt(receipts: Map<string, RuntimeReceipt[]>, message: RuntimeToCloudMessage): void {
  if (message.type === 'runtime.enroll' || message.type === 'session.accepted' || message.type === 'session.ended') return;
  // The inbox keeps only the last test results and diff, so only their last receipt matches the bundle.
  const single = message.type === 'evidence.test-results' || message.type === 'evidence.diff';
  const list = (receipts.get(message.sessionId) ?? []).filter((r) => !single || r.type !== message.type);
  const base = { type: message.type, messageId: message.messageId, signature: message.signature };
  if (message.type === 'evidence.policy-decision') list.push({ ...base, recordId: message.record.decisionId });
  else if (message.type === 'evidence.tool-call') list.push({ ...base, recordId: message.record.toolCallId });
  else if (message.type === 'evidence.diff') list.push({ ...base, baselineCommit: message.baselineCommit });
  else list.push(base);
  receipts.set(message.sessionId, list);
}
