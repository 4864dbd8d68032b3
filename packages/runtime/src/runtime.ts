import { canonicalizeToBytes } from '@lumenflow/protocol';
import type {
  Ask,
  Clock,
  CloudToRuntimeMessage,
  IdSource,
  JsonValue,
  RuntimeEndpoint,
  RuntimeToCloudMessage,
  TestResults,
  UnsignedRuntimeMessage,
} from '@lumenflow/protocol';
import { RESERVED_RULE_IDS, evaluateScope, parseRuleSet, toDecisionRecord } from '@lumenflow/policy';
import type { PolicyDecision, RuleSet } from '@lumenflow/policy';
import type { SigningKey } from '@lumenflow/verifier';
import { RuntimeError } from './errors.js';
import { hashHostname } from './host.js';
import type { HostFacts } from './host.js';
import { attributeChanges } from './sandbox/attribute.js';
import { createBubblewrapSandbox } from './sandbox/bubblewrap.js';
import type { Sandbox } from './sandbox/sandbox.js';
import { createSnapshotter } from './sandbox/snapshot.js';
import type { Snapshotter } from './sandbox/snapshot.js';
import { createScriptedPlanner } from './scripted-planner.js';
import type { StepObservation } from './scripted-planner.js';
import { TEST_COMMAND, describeStepInput, executeStep, scopeOfStep } from './tools.js';
import type { StepResult } from './tools.js';
import { isWorkspaceUnchanged, markNewFiles, prepareWorkspace } from './workspace.js';
import { createWorkspaceContext } from './workspace-context.js';
import type { Workspace } from './workspace.js';

/** The version a runtime reports at enrollment and in node-session.json. */
export const RUNTIME_VERSION = '0.1.0';

export interface RuntimeOptions {
  endpoint: RuntimeEndpoint;
  runtimeId: string;
  /** The runtime's own Ed25519 key; its public half is enrolled with Cloud and every message is signed with it. */
  signingKey: SigningKey;
  clock: Clock;
  ids: IdSource;
  host: HostFacts;
  labels: readonly string[];
  /** Runtime-local rules; they may only tighten the Cloud rules. */
  localRules?: RuleSet;
  /** The repository the runtime works on a fresh copy of. */
  fixtureDir: string;
  tmpRoot?: string;
  signal?: AbortSignal;
  /** Structured log sink; never receives keys or file contents. */
  log?: (event: string, fields: Record<string, unknown>) => void;
  /** Longest wait for Cloud to confirm the enrollment (default {@link DEFAULT_ENROLL_TIMEOUT_MS}); Cloud does not answer a refused one. */
  enrollTimeoutMs?: number;
  /** Longest a single tool call may run (default {@link DEFAULT_TOOL_TIMEOUT_MS}); a hung test suite must not hold the session forever. */
  toolTimeoutMs?: number;
  /**
   * Where tool processes run. Default: a bubblewrap sandbox made at the first
   * session (a session fails with SANDBOX_UNAVAILABLE where none can be had).
   * `createUnsandboxed` is the explicit opt-out, recorded in the Proof.
   */
  sandbox?: Sandbox;
}

/** Default bound on the wait for Cloud's enrollment reply. */
export const DEFAULT_ENROLL_TIMEOUT_MS = 30_000;
/** Default bound on one tool call. */
export const DEFAULT_TOOL_TIMEOUT_MS = 5 * 60 * 1000;

/** A connected runtime: it enrolls, then serves the sessions Cloud dispatches to it. */
export interface Runtime {
  /** Sends the enrollment and resolves once Cloud confirms it. @throws {RuntimeError} ENROLL_REJECTED, ENROLL_TIMEOUT. */
  enroll(): Promise<void>;
  /** Resolves when every session this runtime opened has ended and its workspace is gone. */
  idle(): Promise<void>;
}

interface SessionState {
  runId: string;
  sessionId: string;
  ask: Ask;
  cloudRules: RuleSet;
  workspace: Workspace;
  sandbox: Sandbox;
  snapshotter: Snapshotter;
}

/**
 * Creates a runtime on one transport endpoint. The agent is the deterministic
 * scripted planner; every step is evaluated by Rules before it runs, and every
 * decision and tool call goes to Cloud as it is made.
 */
export function createRuntime(opts: RuntimeOptions): Runtime {
  const sessions = new Map<string, SessionState>();
  const log = opts.log ?? (() => undefined);
  let enrolled: { resolve: () => void; reject: (e: unknown) => void } | undefined;
  let enrollMessageId: string | undefined;
  let work: Promise<void> = Promise.resolve();
  // Sessions that have started, so a halt from Cloud can stop the step in flight.
  const running = new Map<string, AbortController>();
  const enrollTimeoutMs = opts.enrollTimeoutMs ?? DEFAULT_ENROLL_TIMEOUT_MS;
  const toolTimeoutMs = opts.toolTimeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS;
  // Made once, on the first session: a host without a sandbox fails that session, not the enrollment.
  let sandbox: Promise<Sandbox> | undefined;
  const getSandbox = (): Promise<Sandbox> => {
    if (opts.sandbox !== undefined) return Promise.resolve(opts.sandbox);
    sandbox ??= createBubblewrapSandbox();
    return sandbox;
  };
  for (const [name, ms] of [['enrollTimeoutMs', enrollTimeoutMs], ['toolTimeoutMs', toolTimeoutMs]] as const) {
    if (!Number.isSafeInteger(ms) || ms < 1) throw new RangeError(`createRuntime: ${name} must be a positive whole number of milliseconds`);
  }

  const send = async (message: UnsignedRuntimeMessage): Promise<void> => {
    const signature = opts.signingKey.sign(canonicalizeToBytes(message));
    const signed = { ...message, signature: { keyId: opts.signingKey.keyId, value: Buffer.from(signature).toString('base64') } };
    log('runtime.send', { type: message.type, messageId: message.messageId });
    await opts.endpoint.send(signed as RuntimeToCloudMessage);
  };
  const messageId = (): string => opts.ids.next('rmsg');
  const now = (): string => opts.clock.now().toISOString();

  const handle = async (message: CloudToRuntimeMessage): Promise<void> => {
    log('runtime.receive', { type: message.type, messageId: message.messageId });
    switch (message.type) {
      case 'runtime.enrolled': {
        if (message.inReplyTo !== enrollMessageId || message.keyId !== opts.signingKey.keyId) {
          enrolled?.reject(new RuntimeError('ENROLL_REJECTED', 'Cloud confirmed a different enrollment'));
        } else {
          enrolled?.resolve();
        }
        return;
      }
      case 'session.open': {
        let cloudRules: RuleSet;
        let workspace: Workspace | undefined;
        let boundary: Sandbox;
        let snapshotter: Snapshotter;
        try {
          cloudRules = parseCloudRules(message.cloudRules);
          boundary = await getSandbox();
          workspace = await prepareWorkspace({
            fixtureDir: opts.fixtureDir,
            clock: opts.clock,
            ...(opts.tmpRoot === undefined ? {} : { tmpRoot: opts.tmpRoot }),
          });
          snapshotter = await createSnapshotter(workspace.dir);
        } catch (error) {
          await workspace?.dispose();
          // Cloud waits on this session; tell it why it will not start rather than go silent.
          const code = error instanceof RuntimeError ? error.code : 'RUNTIME_INTERNAL';
          await send({
            type: 'session.ended',
            messageId: messageId(),
            runId: message.runId,
            sessionId: message.sessionId,
            outcome: 'failed',
            reason: error instanceof RuntimeError ? error.message : 'the runtime could not open the session',
            code,
            workspaceUnchanged: true,
            endedAt: now(),
          });
          return;
        }
        sessions.set(message.sessionId, { runId: message.runId, sessionId: message.sessionId, ask: message.ask, cloudRules, workspace, sandbox: boundary, snapshotter });
        await send({
          type: 'session.accepted',
          messageId: messageId(),
          runId: message.runId,
          sessionId: message.sessionId,
          startedAt: now(),
          baselineCommit: workspace.baselineCommit,
          sandbox: boundary.info,
        });
        return;
      }
      case 'session.halt': {
        const inFlight = running.get(message.sessionId);
        if (inFlight !== undefined) {
          // Cloud gave up on a started session (it timed out); stop the step it is waiting for.
          inFlight.abort();
          return;
        }
        const session = takeSession(message.sessionId);
        await endSession(session, 'halted', message.reason, 'POLICY_DENIED');
        return;
      }
      case 'session.start': {
        const session = takeSession(message.sessionId);
        const job = runSession(session);
        work = work.then(() => job);
        // Not awaited: a transport hands over one message at a time, and a
        // session.halt from Cloud must get through while the session runs.
        return;
      }
    }
  };

  const takeSession = (sessionId: string): SessionState => {
    const session = sessions.get(sessionId);
    if (session === undefined) throw new RuntimeError('SESSION_UNKNOWN', `no open session ${sessionId}`);
    sessions.delete(sessionId);
    return session;
  };

  const endSession = async (session: SessionState, outcome: 'completed' | 'halted' | 'failed', reason: string, code?: string): Promise<void> => {
    // A completed session wrote its change on purpose; only a stopped one needs the check.
    let unchanged = false;
    try {
      if (outcome !== 'completed') unchanged = await isWorkspaceUnchanged(session.workspace);
    } finally {
      await session.workspace.dispose();
      await session.snapshotter.dispose();
    }
    await send({
      type: 'session.ended',
      messageId: messageId(),
      runId: session.runId,
      sessionId: session.sessionId,
      outcome,
      reason,
      ...(code === undefined ? {} : { code }),
      workspaceUnchanged: unchanged,
      endedAt: now(),
    });
  };

  const runSession = async (session: SessionState): Promise<void> => {
    const { runId, sessionId, ask } = session;
    const planner = createScriptedPlanner({ baselineCommit: session.workspace.baselineCommit });
    const observations: StepObservation[] = [];
    let testResults: TestResults | undefined;
    const halt = new AbortController();
    running.set(sessionId, halt);
    try {
      for (let step = planner.next(observations); step !== undefined; step = planner.next(observations)) {
        if (opts.signal?.aborted) throw new RuntimeError('ABORTED', 'the run was interrupted');
        const toolCallId = opts.ids.next('call');
        const scope = scopeOfStep(step);
        const decision = evaluateScope(
          { cloud: session.cloudRules, ...(opts.localRules === undefined ? {} : { local: opts.localRules }) },
          scope,
          createWorkspaceContext(session.workspace.dir),
        );
        const record = toDecisionRecord(decision, {
          decisionId: opts.ids.next('rdec'),
          timestamp: now(),
          runId,
          askId: ask.askId,
          evaluatedAt: 'runtime',
          toolCallId,
        });
        await send({ type: 'evidence.policy-decision', messageId: messageId(), runId, sessionId, record });
        if (record.effect !== 'allow') {
          // A tool call cannot wait for a person; anything short of allow stops the session.
          await endSession(session, 'halted', `Rules ${record.effect === 'deny' ? 'denied' : 'require approval for'} ${record.scope.kind} ${record.scope.target} (${record.decidingRuleId})`, 'POLICY_DENIED');
          return;
        }
        const input = describeStepInput(step);
        const runsProcess = scope.kind === 'shell.exec';
        // The workspace as it was, so every change the process makes can be judged and, if need be, undone.
        if (step.tool === 'git_diff') await markNewFiles(session.workspace.dir);
        const before = runsProcess ? await session.snapshotter.take() : undefined;
        const startedAt = opts.clock.now();
        const stepTimeout = AbortSignal.timeout(toolTimeoutMs);
        const stepSignal = AbortSignal.any([stepTimeout, halt.signal, ...(opts.signal ? [opts.signal] : [])]);
        let result: StepResult;
        let timedOut = false;
        try {
          result = await executeStep(step, session.workspace.dir, { sandbox: session.sandbox, signal: stepSignal });
        } catch (error) {
          if (opts.signal?.aborted || halt.signal.aborted || !stepTimeout.aborted) throw error;
          // The call ran past its bound and was killed: it is recorded as failed, then the session ends.
          timedOut = true;
          result = { status: 'failed', outputHash: EMPTY_SHA256, exitCode: 124 };
        }
        const endedAt = opts.clock.now();
        if (before !== undefined) await attribute(session, before, toolCallId);
        await send({
          type: 'evidence.tool-call',
          messageId: messageId(),
          runId,
          sessionId,
          record: {
            schemaVersion: 1,
            toolCallId,
            runId,
            askId: ask.askId,
            sessionId,
            tool: step.tool,
            scope: record.scope,
            inputSummary: input.summary,
            inputHash: input.hash,
            decisionId: record.decisionId,
            startedAt: startedAt.toISOString(),
            endedAt: endedAt.toISOString(),
            status: result.status,
            outputHash: result.outputHash,
            ...(result.exitCode === undefined ? {} : { exitCode: result.exitCode }),
            ...(runsProcess ? { sandbox: session.sandbox.callInfo } : {}),
            ...(timedOut ? { limit: 'wall-time' as const } : result.limit === undefined ? {} : { limit: result.limit }),
          },
        });
        if (result.testRun !== undefined) {
          testResults = {
            schemaVersion: 1,
            runId,
            status: 'completed',
            command: [...TEST_COMMAND],
            exitCode: result.testRun.exitCode,
            durationMs: Math.max(0, endedAt.getTime() - startedAt.getTime()),
            counts: result.testRun.counts,
            tests: result.testRun.tests,
            ...(result.testRun.incomplete === undefined ? {} : { incomplete: result.testRun.incomplete }),
          };
          await send({ type: 'evidence.test-results', messageId: messageId(), runId, sessionId, record: testResults });
        }
        if (result.patch !== undefined && result.status === 'succeeded' && step.tool === 'git_diff') {
          await send({ type: 'evidence.diff', messageId: messageId(), runId, sessionId, baselineCommit: step.baselineCommit, patch: result.patch });
        }
        if (timedOut) {
          await endSession(session, 'failed', `${step.tool} ran longer than ${toolTimeoutMs} ms and was stopped`, 'TOOL_TIMEOUT');
          return;
        }
        observations.push({ step, status: result.status, ...(result.text === undefined ? {} : { text: result.text }) });
        if (result.status === 'failed' && step.tool !== 'run_tests') {
          await endSession(session, 'failed', `${step.tool} failed`, 'TOOL_FAILED');
          return;
        }
      }
      await endSession(session, 'completed', `${planner.name} finished ${observations.length} steps`);
    } catch (error) {
      log('runtime.session-failed', { sessionId, code: (error as { code?: unknown }).code ?? 'INTERNAL' });
      const code = error instanceof RuntimeError ? error.code : 'RUNTIME_INTERNAL';
      await endSession(session, 'failed', error instanceof RuntimeError ? error.message : 'the runtime failed', code).catch(() => undefined);
    } finally {
      running.delete(sessionId);
    }
  };

  // Judges every change a tool process made as an fs.write of that call,
  // reverts what Rules do not allow, and records one decision per change.
  const attribute = async (session: SessionState, before: Awaited<ReturnType<Snapshotter['take']>>, toolCallId: string): Promise<void> => {
    const layers = { cloud: session.cloudRules, ...(opts.localRules === undefined ? {} : { local: opts.localRules }) };
    const judge = (path: string): PolicyDecision => evaluateScope(layers, { kind: 'fs.write', path }, createWorkspaceContext(session.workspace.dir));
    const { changes } = await attributeChanges({
      snapshotter: session.snapshotter,
      before,
      judge,
      tooMany: (count, firstPath) => ({
        ...judge(firstPath),
        effect: 'deny',
        matchedRuleIds: [],
        decidingRuleId: RESERVED_RULE_IDS.tooManyChanges,
        reason: `the call changed ${count} workspace paths, more than the runtime judges one by one; every change was reverted`,
        warnings: [],
      }),
    });
    for (const change of changes) {
      const record = {
        ...toDecisionRecord(change.decision, { decisionId: opts.ids.next('rdec'), timestamp: now(), runId: session.runId, askId: session.ask.askId, evaluatedAt: 'runtime' }),
        attribution: { toolCallId, change: change.change, reverted: change.reverted },
      };
      log('runtime.attributed-write', { toolCallId, effect: record.effect, reverted: change.reverted });
      await send({ type: 'evidence.policy-decision', messageId: messageId(), runId: session.runId, sessionId: session.sessionId, record });
    }
  };

  opts.endpoint.onMessage(handle);

  return {
    enroll: () =>
      new Promise<void>((resolve, reject) => {
        // Cloud sends nothing back for an enrollment it refuses; do not wait for ever.
        const timer = setTimeout(() => reject(new RuntimeError('ENROLL_TIMEOUT', `Cloud did not confirm the enrollment within ${enrollTimeoutMs} ms`)), enrollTimeoutMs).unref();
        enrolled = {
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
          reject: (e: unknown) => {
            clearTimeout(timer);
            reject(e);
          },
        };
        enrollMessageId = messageId();
        send({
          type: 'runtime.enroll',
          messageId: enrollMessageId,
          runtimeId: opts.runtimeId,
          publicKeyPem: opts.signingKey.publicKeyPem,
          labels: [...opts.labels],
          version: RUNTIME_VERSION,
          host: { os: opts.host.os, arch: opts.host.arch, nodeVersion: opts.host.nodeVersion, hostnameHash: hashHostname(opts.host.hostname) },
        }).catch(reject);
      }),
    idle: async () => {
      await work;
      for (const session of sessions.values()) await session.workspace.dispose();
    },
  };
}

const EMPTY_SHA256 = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

function parseCloudRules(value: { fileName: string; document: JsonValue }): RuleSet {
  try {
    return parseRuleSet(value.document, value.fileName);
  } catch (cause) {
    throw new RuntimeError('RULES_INVALID', 'the Cloud rules sent with the dispatch are not a valid rule set', { cause });
  }
}
