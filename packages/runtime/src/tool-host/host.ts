import { RESERVED_RULE_IDS, toDecisionRecord } from '@lumenflow/policy';
import { createRedactor, omitUndefined } from '@lumenflow/protocol';
import type { Ask, Clock, IdSource, Scope, ScopeRef } from '@lumenflow/protocol';
import { RuntimeError } from '../errors.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import type { Snapshot, Snapshotter } from '../sandbox/snapshot.js';
import type { AgentStep } from '../scripted-planner.js';
import { TOOL_LIMITS } from '../tool-limits.js';
import { TEST_COMMAND, describeStepInput, executeStep, scopeOfStep } from '../tools.js';
import type { StepResult } from '../tools.js';
import { markNewFiles, mayHoldNewFiles } from '../workspace.js';
import { printable } from '../printable.js';
import { findSecretInContent } from '../secrets.js';
import type { SecretCheck } from '../secrets.js';
import { TOOL_CATALOG, TOOL_INPUTS, TOOL_NAMES, isToolName } from './catalog.js';
import type { ToolName } from './catalog.js';
import type { EvidenceSink, WorkEnd } from './evidence.js';
import { judgeChanges } from './judge-changes.js';
import type { Judge } from './judge.js';

/** What an agent gets back from one call: text, and whether the call failed or was refused. */
export interface ToolReply {
  isError: boolean;
  text: string;
}

export interface ToolHostOptions {
  runId: string;
  sessionId: string;
  ask: Ask;
  workspaceDir: string;
  baselineCommit: string;
  sandbox: Sandbox;
  snapshotter: Snapshotter;
  /**
   * The workspace as the session opened on it (`baselineCommit` checked out).
   * With it, git_diff marks new files intent-to-add (a git process) only when a
   * snapshot says the workspace may hold one ({@link mayHoldNewFiles}); without
   * it, always.
   */
  baselineSnapshot?: Snapshot;
  judge: Judge;
  evidence: EvidenceSink;
  clock: Clock;
  ids: IdSource;
  toolTimeoutMs: number;
  /** The run's own stop (interrupt), and Cloud's halt of this session. */
  signal?: AbortSignal;
  halt: AbortSignal;
  /** Most calls the session serves (default `TOOL_LIMITS.callsPerSession`). */
  maxCalls?: number;
  /** The test command run_tests runs (default {@link TEST_COMMAND}). */
  testCommand?: readonly string[];
  log?: (event: string, fields: Record<string, unknown>) => void;
  /**
   * The session's secrets (docs/secrets.md): every reply an agent gets passes
   * its redactor, and a write that would bring one into the change is refused.
   * Default: the built-in patterns only, no secret files (the runtime always passes its own).
   */
  secrets?: SecretCheck;
}

/**
 * One session's governed tools, whoever calls them (the scripted agent or any
 * MCP client): each call is checked against its schema, decided by Rules
 * bounded by the Ask, executed (processes in the sandbox), its workspace
 * changes attributed, and recorded as signed evidence. Calls run one at a time.
 * The first refused call ends the work (fail closed, as Replay checks).
 */
export interface ToolHost {
  call(name: string, args: unknown): Promise<ToolReply>;
  /** Resolves once the agent's work is over: `finish`, a refusal, a failure, or {@link ToolHost.close}. */
  readonly ended: Promise<WorkEnd>;
  /** Ends the work from outside (the agent went away, ran too long) unless it already ended. */
  close(end: WorkEnd): void;
  /**
   * Calls refused because the work had already ended (after `finish`, a
   * refusal, the call bound, or a close): no evidence message may follow the
   * end, so they are counted, not recorded one by one; session.ended carries
   * the count (`agent.callsAfterEnd`).
   */
  readonly callsAfterEnd: number;
}

const EMPTY_SHA256 = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export function createToolHost(opts: ToolHostOptions): ToolHost {
  const log = opts.log ?? (() => undefined);
  const secrets: SecretCheck = opts.secrets ?? { redactor: createRedactor(), isSecretFile: () => false };
  const now = (): string => opts.clock.now().toISOString();
  const meta = { runId: opts.runId, askId: opts.ask.askId };
  const prScope: Scope = { kind: 'pr.create', repository: opts.ask.workspace.repository, base: opts.ask.workspace.baseBranch };
  let end: WorkEnd | undefined;
  let settle: (end: WorkEnd) => void = () => undefined;
  const ended = new Promise<WorkEnd>((resolve) => (settle = resolve));
  const close = (value: WorkEnd): void => {
    if (end !== undefined) return;
    end = value;
    settle(value);
  };
  let queue: Promise<unknown> = Promise.resolve();
  let calls = 0;
  let callsAfterEnd = 0;
  const maxCalls = opts.maxCalls ?? TOOL_LIMITS.callsPerSession;
  // Whether the last diff taken still shows the workspace; `finish` takes one when not.
  let diffCurrent = false;

  const refuse = async (toolCallId: string, scope: ScopeRef, ruleId: string, reason: string): Promise<ToolReply> => {
    const record = toDecisionRecord(opts.judge.refuse(scope, ruleId, reason), { decisionId: opts.ids.next('rdec'), timestamp: now(), ...meta, evaluatedAt: 'runtime', toolCallId });
    await opts.evidence.decision(record);
    close({ outcome: 'halted', reason: `Rules denied ${scope.kind} ${scope.target} (${ruleId})`, code: 'POLICY_DENIED' });
    return { isError: true, text: `refused by ${ruleId}: ${reason}` };
  };

  const runStep = async (tool: ToolName, step: AgentStep): Promise<ToolReply> => {
    if (opts.signal?.aborted) throw new RuntimeError('ABORTED', 'the run was interrupted');
    const toolCallId = opts.ids.next('call');
    const scope = scopeOfStep(step);
    // A diff shows the change the Ask's pull request asked for, so the grant is asked about that.
    const decision = opts.judge.decide(scope, tool === 'git_diff' ? prScope : scope);
    const record = toDecisionRecord(decision, { decisionId: opts.ids.next('rdec'), timestamp: now(), ...meta, evaluatedAt: 'runtime', toolCallId });
    await opts.evidence.decision(record);
    if (record.effect !== 'allow') {
      // A tool call cannot wait for a person; anything short of allow stops the session.
      close({
        outcome: 'halted',
        reason: `Rules ${record.effect === 'deny' ? 'denied' : 'require approval for'} ${record.scope.kind} ${record.scope.target} (${record.decidingRuleId})`,
        code: 'POLICY_DENIED',
      });
      return { isError: true, text: `${record.effect === 'deny' ? 'denied' : 'held for approval'} by ${record.decidingRuleId}: ${record.reason}` };
    }
    const input = describeStepInput(step);
    const runsProcess = scope.kind === 'shell.exec';
    // The workspace as it was, so every change the process makes can be judged and, if need be, undone.
    let before = runsProcess ? await opts.snapshotter.take() : undefined;
    // New files join the diff as intent-to-add; marking them changes .git/index, so the snapshot is taken again after.
    if (step.tool === 'git_diff' && (before === undefined || opts.baselineSnapshot === undefined || mayHoldNewFiles(opts.baselineSnapshot, before))) {
      await markNewFiles(opts.workspaceDir);
      before = await opts.snapshotter.take();
    }
    const startedAt = opts.clock.now();
    const stepTimeout = AbortSignal.timeout(opts.toolTimeoutMs);
    const stepSignal = AbortSignal.any([stepTimeout, opts.halt, ...(opts.signal ? [opts.signal] : [])]);
    let result: StepResult;
    let timedOut = false;
    try {
      result = await executeStep(step, opts.workspaceDir, {
        sandbox: opts.sandbox,
        signal: stepSignal,
        canRead: (path) => opts.judge.decide({ kind: 'fs.read', path }).effect === 'allow',
      });
    } catch (error) {
      if (opts.signal?.aborted || opts.halt.aborted || !stepTimeout.aborted) throw error;
      // The call ran past its bound and was killed: it is recorded as failed, then the session ends.
      timedOut = true;
      result = { status: 'failed', outputHash: EMPTY_SHA256, exitCode: 124 };
    }
    const endedAt = opts.clock.now();
    const kept =
      before === undefined
        ? 0
        : await judgeChanges({ snapshotter: opts.snapshotter, before, judge: opts.judge, evidence: opts.evidence, toolCallId, meta, ids: opts.ids, clock: opts.clock, log, secrets, workspaceDir: opts.workspaceDir });
    await opts.evidence.toolCall({
      schemaVersion: 1,
      toolCallId,
      ...meta,
      sessionId: opts.sessionId,
      tool: step.tool,
      scope: record.scope,
      inputSummary: input.summary,
      inputHash: input.hash,
      decisionId: record.decisionId,
      startedAt: startedAt.toISOString(),
      endedAt: endedAt.toISOString(),
      status: result.status,
      outputHash: result.outputHash,
      ...omitUndefined({ exitCode: result.exitCode }),
      ...(runsProcess ? { sandbox: opts.sandbox.callInfo } : {}),
      ...omitUndefined({ limit: timedOut ? ('wall-time' as const) : result.limit }),
    });
    if (result.testRun !== undefined) {
      await opts.evidence.testResults({
        schemaVersion: 1,
        runId: opts.runId,
        status: 'completed',
        command: [...(step.tool === 'run_tests' ? (step.command ?? TEST_COMMAND) : TEST_COMMAND)],
        exitCode: result.testRun.exitCode,
        durationMs: Math.max(0, endedAt.getTime() - startedAt.getTime()),
        counts: result.testRun.counts,
        tests: result.testRun.tests,
        ...omitUndefined({ incomplete: result.testRun.incomplete }),
      });
    }
    if (step.tool === 'git_diff' && result.patch !== undefined && result.status === 'succeeded') {
      await opts.evidence.diff(step.baselineCommit, result.patch);
      diffCurrent = true;
    } else if (step.tool === 'write_file' ? result.status === 'succeeded' : kept > 0) {
      diffCurrent = false;
    }
    if (timedOut) {
      close({ outcome: 'failed', reason: `${step.tool} ran longer than ${opts.toolTimeoutMs} ms and was stopped`, code: 'TOOL_TIMEOUT' });
      return { isError: true, text: `${step.tool} ran longer than ${opts.toolTimeoutMs} ms and was stopped; the session has ended` };
    }
    // A test run or a command that exits non-zero is a result to read, not a failed call.
    const isError = result.status === 'failed' && tool !== 'run_tests' && tool !== 'run_command';
    return { isError, text: result.text ?? (isError ? `${tool} failed` : '') };
  };

  const serve = async (name: string, args: unknown): Promise<ToolReply> => {
    if (end !== undefined) {
      callsAfterEnd++;
      return { isError: true, text: `the session's work has ended (${end.reason}); no further calls are served` };
    }
    // Every call counts against the bound, whatever tool it names.
    if (++calls > maxCalls) {
      close({ outcome: 'failed', reason: `the agent made more than ${maxCalls} tool calls`, code: 'TOOL_CALL_LIMIT' });
      return { isError: true, text: `more than ${maxCalls} tool calls; the session has ended` };
    }
    if (!isToolName(name)) {
      // A name no tool has is a bad input like any other: a recorded deny that ends the work.
      // It names no scope; it is recorded as shell.exec, running something, the widest kind.
      const shown = printable(name, 100) || '(empty)';
      return refuse(opts.ids.next('call'), { kind: 'shell.exec', target: `${shown} (unknown tool)` }, RESERVED_RULE_IDS.invalidInput, `unknown tool ${JSON.stringify(shown)}; the tools are ${TOOL_NAMES.join(', ')}`);
    }
    const parsed = TOOL_INPUTS[name].safeParse(args ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue === undefined || issue.path.length === 0 ? 'input' : issue.path.join('.');
      // Bad input is refused before any Rules decision, and recorded as a deny of the call.
      // The reason can quote the agent's own keys: printable and bounded, so that it can be signed.
      return refuse(opts.ids.next('call'), { kind: TOOL_CATALOG[name].scopeKind, target: `${name} (invalid input)` }, RESERVED_RULE_IDS.invalidInput, printable(`${name}: ${where}: ${issue?.message ?? 'invalid'}`, 1000));
    }
    const input = parsed.data as Record<string, unknown>;
    if (name === 'write_file') {
      // A secret is refused, not redacted, in a change: the diff would carry it into the pull request (ADR 0035).
      const { path, content } = input as { path: string; content: string };
      const kind = findSecretInContent(content, path, secrets);
      if (kind !== undefined) {
        return refuse(
          opts.ids.next('call'),
          { kind: 'fs.write', target: path },
          RESERVED_RULE_IDS.secretInContent,
          `the content holds a secret (${kind}); a change may not carry a secret, so the write is refused, not redacted`,
        );
      }
    }
    switch (name) {
      case 'finish': {
        if (!diffCurrent) {
          // The change is what gets approved: take its diff through the same path as any call.
          const reply = await runStep('git_diff', { tool: 'git_diff', baselineCommit: opts.baselineCommit });
          if (end !== undefined || reply.isError) return reply;
        }
        const { title, body } = input as { title: string; body: string };
        close({ outcome: 'completed', reason: `the agent finished after ${calls} tool calls`, proposal: { title, body } });
        return { isError: false, text: 'finished; the change now waits for approval' };
      }
      case 'git_diff':
        return runStep(name, { tool: 'git_diff', baselineCommit: opts.baselineCommit });
      case 'run_tests':
        return runStep(name, { tool: 'run_tests', ...omitUndefined({ command: opts.testCommand }) });
      default:
        return runStep(name, { tool: name, ...input } as AgentStep);
    }
  };

  // What the agent reads goes through the session's redactor like all other output (MCP results included).
  const redactReply = (reply: ToolReply): ToolReply => {
    const { text, count } = secrets.redactor.redactText(reply.text);
    return count === 0 ? reply : { ...reply, text };
  };

  return {
    call(name, args) {
      const reply = queue.then(() =>
        serve(name, args).then(redactReply, (error: unknown) => {
          // The runtime failed, not the agent: end the work with the failure's code.
          log('runtime.tool-failed', { tool: name, code: (error as { code?: unknown }).code ?? 'INTERNAL' });
          const code = error instanceof RuntimeError ? error.code : 'RUNTIME_INTERNAL';
          close({ outcome: 'failed', reason: error instanceof RuntimeError ? error.message : 'the runtime failed', code });
          return { isError: true, text: `the runtime could not serve ${name} (${code}); the session has ended` };
        }),
      );
      queue = reply;
      return reply;
    },
    ended,
    close,
    get callsAfterEnd() {
      return callsAfterEnd;
    },
  };
}
