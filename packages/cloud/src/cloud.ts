import { setMaxListeners } from 'node:events';
import { omitUndefined } from '@lumenflow/protocol';
import type { CloudToRuntimeMessage, RuntimeReceipt, RuntimeToCloudMessage, SessionEndedMessage } from '@lumenflow/protocol';
import { computeKeyId, encodePublicKeyDer, parsePublicKeyPem } from '@lumenflow/verifier';
import { CloudError } from './errors.js';
import { checkMessageSignature } from './message-signature.js';
import { createEvidenceRedactor } from './redact-evidence.js';
import { selectRuntime } from './registry.js';
import type { EnrolledRuntime } from './registry.js';
import { settleApproval } from './run-approval.js';
import type { RunContext } from './run-context.js';
import { createNotRunResults, decideApprovalGate, decideBundleMode, decideRunEnding } from './run-ending.js';
import { describeNodeSession, assembleProof, listProofFiles } from './run-proof.js';
import { startEarlyBaseFetch } from './pull-request/perform.js';
import type { EarlyBaseFetch } from './pull-request/perform.js';
import { openApprovedPullRequest } from './run-pull-request.js';
import { acceptRefusal, announceAsk, awaitAcceptance, collectSession, dispatchAsk, evaluateCloudRules } from './run-session.js';
import type { CloudRuling } from './run-session.js';
import { DEFAULT_SESSION_TIMEOUT_MS } from './run-types.js';
import type { Cloud, CloudOptions, RunRequest, RunResult } from './run-types.js';
import { appendReceipt, failSessionInbox, isRecordOfInbox } from './session-inbox.js';
import type { SessionAccepted, SessionInbox } from './session-inbox.js';
import { anySignal, awaitEvent, checkTimeout, throwIfAborted } from './waits.js';

export { DEFAULT_SESSION_TIMEOUT_MS, RUN_STEPS } from './run-types.js';
export type { Cloud, CloudOptions, PendingApprovalSnapshot, RunEnding, RunProgress, RunRequest, RunResult, RunStep } from './run-types.js';

/** How often a wait for a runtime looks again at runtimes that may have come back without enrolling. */
const RECHECK_MS = 250;

/** Creates the Cloud side on one transport endpoint. Cloud never touches a runtime's objects, only its messages. */
export function createCloud(opts: CloudOptions): Cloud {
  const runtimes = new Map<string, EnrolledRuntime>();
  const sessions = new Map<string, SessionInbox>();
  const receipts = new Map<string, RuntimeReceipt[]>();
  // Fires 'enrolled' on each enrollment; any number of runs may wait on it at once.
  const enrollments = new EventTarget();
  setMaxListeners(0, enrollments);
  // Cloud's redaction point (ADR 0034): its log, progress and the files it writes pass this.
  const secrets = createEvidenceRedactor(opts.knownSecrets);
  const logSink = opts.log ?? (() => undefined);
  const log = (event: string, fields: Record<string, unknown>): void => logSink(event, secrets.value(fields));
  const isAvailable = opts.isRuntimeAvailable ?? (() => true);
  const available = (): EnrolledRuntime[] => [...runtimes.values()].filter((r) => isAvailable(r.runtimeId));
  const messageId = (): string => opts.ids.next('cmsg');
  // What Cloud sends (and Connections stores) passes the redactor too; the rules go as they are, their digest binds every decision.
  const send = async (message: CloudToRuntimeMessage): Promise<void> => {
    log('cloud.send', { type: message.type, messageId: message.messageId });
    await opts.endpoint.send(message.type === 'session.open' ? { ...secrets.value(message), cloudRules: message.cloudRules } : secrets.value(message));
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
      failSessionInbox(inbox, new CloudError('MESSAGE_REJECTED', `message ${message.messageId} is not signed by runtime ${inbox.runtime.runtimeId}`));
      return;
    }
    const secretKind = secrets.secretIn(message);
    if (secretKind !== undefined) {
      // Signed by the runtime, so Cloud cannot redact it; it never enters evidence.
      failSessionInbox(inbox, new CloudError('MESSAGE_REJECTED', `message ${message.messageId} carries a secret Cloud knows (${secretKind}); the runtime should have redacted it`));
      return;
    }
    // Every transport: the runtime's signature is the only thing Cloud cannot forge, so the bundle keeps each one.
    appendReceipt(receipts, message);
    switch (message.type) {
      case 'session.accepted':
        inbox.accepted.resolve({ startedAt: message.startedAt, baselineCommit: message.baselineCommit, sandbox: message.sandbox });
        return;
      case 'evidence.policy-decision':
        if (!isRecordOfInbox(message.record, inbox)) return reject(inbox, message.messageId);
        inbox.decisions.push(message.record);
        inbox.onItem?.(`rule ${message.record.effect}: ${message.record.scope.kind} ${message.record.scope.target}`);
        return;
      case 'evidence.tool-call':
        if (!isRecordOfInbox(message.record, inbox) || message.record.sessionId !== message.sessionId) return reject(inbox, message.messageId);
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
    failSessionInbox(inbox, new CloudError('MESSAGE_REJECTED', `message ${id} names another run, Ask or session`));
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
    enrollments.dispatchEvent(new Event('enrolled'));
  };

  opts.endpoint.onMessage(handle);
  opts.endpoint.onError((error) => log('cloud.transport-error', { code: (error as { code?: unknown }).code ?? 'UNKNOWN' }));

  const waitForRuntime = async (labels: readonly string[], signal?: AbortSignal, timeoutMs: number = DEFAULT_SESSION_TIMEOUT_MS): Promise<void> => {
    checkTimeout(timeoutMs);
    throwIfAborted(signal);
    // A refused enrollment gets no reply, so without a bound this would wait forever.
    const timeout = AbortSignal.timeout(timeoutMs);
    const stop = anySignal(signal, timeout);
    for (;;) {
      if (selectRuntime(available(), labels) !== undefined) return;
      throwIfAborted(signal);
      if (timeout.aborted) throw new CloudError('RUNTIME_TIMEOUT', `no runtime with labels [${labels.join(', ')}] enrolled within ${timeoutMs} ms`);
      // A lost runtime can come back without enrolling again: look again now and then.
      await awaitEvent(enrollments, 'enrolled', opts.isRuntimeAvailable === undefined ? stop : anySignal(stop, AbortSignal.timeout(RECHECK_MS)));
    }
  };

  const run = async (request: RunRequest): Promise<RunResult> => {
    const sessionTimeoutMs = request.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS;
    checkTimeout(sessionTimeoutMs);
    const ctx: RunContext = {
      cloud: opts,
      request,
      sessionTimeoutMs,
      progress: (event) => request.onProgress?.({ ...event, detail: secrets.text(event.detail) }),
      redactText: secrets.text,
      log,
      send,
      messageId,
      now: () => opts.clock.now().toISOString(),
      sessions,
      receipts,
    };
    const { ask, runId } = request;

    announceAsk(ctx);
    const session = dispatchAsk(ctx, available());
    let early: EarlyBaseFetch | undefined;
    try {
      const opening = await awaitAcceptance(ctx, session);
      let accepted: Pick<SessionAccepted, 'startedAt' | 'sandbox'>;
      let ruling: CloudRuling;
      let ended: SessionEndedMessage;
      if ('type' in opening) {
        // A session the runtime refused at open is still written and signed: the refusal is evidence.
        ({ accepted, ruling } = acceptRefusal(ctx, opening));
        ended = opening;
      } else {
        accepted = opening;
        ruling = evaluateCloudRules(ctx);
        // A local base is fetched while the session runs; the step still checks everything when it comes.
        if (ruling.deny === undefined && request.pullRequest !== undefined) early = startEarlyBaseFetch(request.pullRequest, ask, opening.baselineCommit);
        ended = await collectSession(ctx, session, ruling);
      }

      // What the session left: the bundle carries no change from a run Cloud halted.
      const { inbox } = session;
      const decisions = [...ruling.decisions, ...inbox.decisions];
      const patch = ruling.deny === undefined ? (inbox.patch ?? '') : '';
      const nodeSession = describeNodeSession({ ask, session, accepted, ended, patch, receipts: receipts.get(session.sessionId) ?? [] });
      const prTarget = `${ask.workspace.repository}@${ask.workspace.baseBranch}`;

      // Decide (pure): does this run ask a person, and how does it end if it does not?
      const gate = decideApprovalGate({
        cloudDeny: ruling.deny,
        prDecision: ruling.decisions.find((d) => d.scope.kind === 'pr.create' && d.scope.target === prTarget),
        prTarget,
        ended,
        runtimeDecisions: inbox.decisions,
        testResults: inbox.testResults,
        patch,
      });
      const testResults = inbox.testResults ?? createNotRunResults(runId, gate);
      const mode = decideBundleMode(ruling.deny !== undefined, inbox.toolCalls.length, decisions);
      // Runtime records arrive redacted and checked (above), so only Cloud's own text changes here; Cloud's records get a summary.
      // Redacted once; only the PR text differs between the approval's view and the proof.
      const redacted = {
        ask: secrets.value(ask),
        nodeSession: secrets.value(nodeSession),
        decisions: decisions.map((d) => secrets.record(d)),
        toolCalls: inbox.toolCalls,
        patch,
        testResults: secrets.record(testResults),
        replayUrl: secrets.text(request.replayUrl),
      };
      const proofFilesFor = (prText: string): Record<string, string> => listProofFiles({ ...redacted, prText });

      const { approval, prText, answer } = await settleApproval(ctx, {
        gate,
        patch,
        mode,
        listProofFiles: proofFilesFor,
        // The base the runtime signed its diff against (its evidence.diff receipt).
        baseCommit: nodeSession.runtimeEvidence?.receipts.find((r) => r.type === 'evidence.diff')?.baselineCommit,
        proposal: ended.proposal,
      });

      // Pull request: Cloud carries out the approved action, bound to it, before the proof is assembled (ADR 0037).
      throwIfAborted(request.signal);
      const files = proofFilesFor(prText);
      const opened = await openApprovedPullRequest(ctx, approval, files, early);

      const { ending, summary } = decideRunEnding(gate, answer, opened?.result.output);
      throwIfAborted(request.signal);
      const written = await assembleProof(ctx, mode, opened?.artifacts ?? files, secrets.value(approval));
      return {
        runId,
        dir: written.dir,
        keyId: written.keyId,
        mode,
        ending,
        summary: secrets.text(summary),
        toolCalls: inbox.toolCalls.length,
        decisions: decisions.length,
        approvalStatus: approval.status,
        ...omitUndefined({ pullRequest: opened?.result.output, code: ended.outcome === 'completed' ? undefined : ended.code }),
      };
    } finally {
      sessions.delete(session.sessionId);
      receipts.delete(session.sessionId);
      await early?.dispose();
    }
  };

  return { waitForRuntime, run };
}
