import { createRedactor, omitUndefined, secretsFromEnvironment } from '@lumenflow/protocol';
import type {
  AgentInfo,
  KnownSecret,
  Redactor,
  AgentNetwork,
  Ask,
  Clock,
  CloudToRuntimeMessage,
  IdSource,
  JsonValue,
  RuntimeEndpoint,
  UnsignedRuntimeMessage,
} from '@lumenflow/protocol';
import { RESERVED_RULE_IDS, computePolicyDigest, createAskGrant, isSecretFile, parseRuleSet, toDecisionRecord } from '@lumenflow/policy';
import type { PolicyLayers, RuleSet } from '@lumenflow/policy';
import type { SigningKey } from '@lumenflow/verifier';
import { RuntimeError } from './errors.js';
import { hashHostname } from './host.js';
import type { HostFacts } from './host.js';
import { createBubblewrapSandbox } from './sandbox/bubblewrap.js';
import type { Sandbox } from './sandbox/sandbox.js';
import { createSnapshotter } from './sandbox/snapshot.js';
import type { Snapshot, Snapshotter } from './sandbox/snapshot.js';
import { checkRemoteRepository, checkoutWorkspace } from './checkout.js';
import { collectAgents, resolveAgent, resolveRepository } from './served.js';
import { isWorkspaceUnchanged, prepareWorkspace } from './workspace.js';
import type { EgressSettings } from './egress/index.js';
import { runSessionAgent } from './mcp/run-agent.js';
import { SCRIPTED_AGENT_NAME } from './mcp/scripted-agent.js';
import { createToolHost } from './tool-host/host.js';
import { createJudge } from './tool-host/judge.js';
import { RUNTIME_VERSION } from './version.js';
import { createRuntimeSender, createSessionEvidence } from './signed-messages.js';
import { readWorkspaceSecrets } from './secrets.js';
import type { Workspace } from './workspace.js';

export { RUNTIME_VERSION };

export interface RuntimeOptions {
  endpoint: RuntimeEndpoint;
  runtimeId: string;
  /** The runtime's own Ed25519 key; its public half is enrolled with Cloud and every message is signed with it. */
  signingKey: SigningKey;
  clock: Clock;
  ids: IdSource;
  host: HostFacts;
  labels: readonly string[];
  /**
   * Runtime-local rules; they may only tighten the Cloud rules. The same file
   * names the agents the runtime starts and the repositories it serves
   * (`agents`, `repositories`; docs/agents.md).
   */
  localRules?: RuleSet;
  /** The directory the runtime serves: a git repository, or a plain directory of files (the bundled fixture). */
  fixtureDir: string;
  /**
   * `auto` (default): when the directory holds a git repository (a `.git`
   * entry, or a bare repository's layout), each session works on a fresh
   * clone of the Ask's base branch, never in the directory itself; a plain
   * directory of files becomes a new repository with one baseline commit (the
   * bundled fixture). A repository's working tree is never copied.
   * `checkout`: the directory must be a git repository (the top level of a
   * work tree, or a bare repository); any other path is refused with
   * REPO_NOT_GIT at session open.
   */
  workspaceSource?: 'auto' | 'checkout';
  /**
   * The repository (`owner/name`) `fixtureDir` holds. A session whose Ask names
   * another is refused with REPOSITORY_NOT_SERVED before anything is copied.
   * Absent: the runtime reads it from the directory's `origin` remote at each
   * session and, when there is none, refuses every Ask.
   */
  repository?: string;
  /**
   * Agents this runtime starts by name besides the built-in scripted agent and
   * the ones its local rules file names (`agents`): a command line run in the
   * sandbox as an MCP client of the session's tools (`{mcpConfig}` becomes the
   * MCP configuration's path; docs/agents.md), with its network (default none).
   */
  agents?: Readonly<Record<string, { command: readonly string[]; network?: AgentNetwork }>>;
  /** The agent for an Ask that names none (default: the scripted agent). */
  defaultAgent?: string;
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
   * `createUnsandboxed` is the explicit opt-out, recorded in the Proof. A
   * promise (a sandbox still being made) lets a session's workspace be
   * prepared meanwhile; its failure is still the session's first reported one.
   */
  sandbox?: Sandbox | Promise<Sandbox>;
  /**
   * A copy of `fixtureDir` already being made with {@link prepareWorkspace} (and left untouched), so
   * that the first session on it need not wait for git (the CLI starts it while
   * it reads its inputs). Only a session whose Ask resolves to a copy of
   * `fixtureDir` takes it, and only one; a copy that failed is made again at
   * session open, so any error is that session's own. One no session took is
   * removed by {@link Runtime.idle}.
   */
  fixtureCopy?: Promise<Workspace>;
  /**
   * Values this runtime holds as secret, e.g. a PR provider's token: redacted
   * from every message, log line and tool reply, and refused in a change
   * (docs/secrets.md). Besides these the runtime knows the values of the
   * environment variables its local rules file names in `secretEnv`, the
   * value of `GITHUB_TOKEN` when set, and each session's secret files.
   */
  knownSecrets?: readonly KnownSecret[];
  /** The environment `secretEnv` and `GITHUB_TOKEN` are read from (default `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * How the egress proxy of an agent with an allow-list runs: its bounds, and
   * for tests alone a resolver and `testOnlyPermitLoopback` (docs/sandbox.md).
   * No rules file or flag sets these.
   */
  egress?: Omit<EgressSettings, 'onDecision'>;
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
  /**
   * Stops one session whose lease Cloud refused (another run of its Ask took over):
   * a started one at the step in flight, an open one now, one still opening as soon
   * as it is ready. It ends `halted` with code LEASE_LOST and is never started; the
   * runtime goes on serving its other sessions.
   */
  stopSession(sessionId: string, reason: string): Promise<void>;
}

interface SessionState {
  runId: string;
  sessionId: string;
  ask: Ask;
  cloudRules: RuleSet;
  workspace: Workspace;
  sandbox: Sandbox;
  snapshotter: Snapshotter;
  /** The workspace as the session opened on it. */
  baseline: Snapshot;
  layers: PolicyLayers;
  /** The runtime's known secrets and this workspace's secret files. */
  redactor: Redactor;
}

/**
 * Creates a runtime on one transport endpoint. The agent is the deterministic
 * scripted planner; every step is evaluated by Rules before it runs, and every
 * decision and tool call goes to Cloud as it is made.
 */
export function createRuntime(opts: RuntimeOptions): Runtime {
  const sessions = new Map<string, SessionState>();
  // The one redactor (ADR 0034): what the runtime holds as secret, before any session adds its secret files.
  const redactor = createRedactor({
    knownValues: [...(opts.knownSecrets ?? []), ...secretsFromEnvironment(opts.env ?? process.env, opts.localRules?.document.secretEnv ?? [])],
  });
  const logSink = opts.log ?? (() => undefined);
  const log = (event: string, fields: Record<string, unknown>): void => logSink(event, redactor.redactValue(fields).value);
  const agents = collectAgents(opts.localRules, opts.agents);
  let enrolled: { resolve: () => void; reject: (e: unknown) => void } | undefined;
  let enrollMessageId: string | undefined;
  let work: Promise<void> = Promise.resolve();
  // Sessions that have started, so a halt from Cloud can stop the step in flight.
  const running = new Map<string, AbortController>();
  // Sessions whose lease Cloud refused, with why: each ends halted (LEASE_LOST) and is never started.
  const leaseLost = new Map<string, string>();
  const enrollTimeoutMs = opts.enrollTimeoutMs ?? DEFAULT_ENROLL_TIMEOUT_MS;
  const toolTimeoutMs = opts.toolTimeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS;
  // Made once, on the first session: a host without a sandbox fails that session, not the enrollment.
  let sandbox: Promise<Sandbox> | undefined;
  const getSandbox = (): Promise<Sandbox> => {
    if (opts.sandbox !== undefined) return Promise.resolve(opts.sandbox);
    sandbox ??= createBubblewrapSandbox();
    return sandbox;
  };
  // The copy made ahead (fixtureCopy) serves the first session that works on a copy of fixtureDir.
  let fixtureCopy = opts.fixtureCopy;
  fixtureCopy?.catch(() => undefined);
  const takeFixtureCopy = (dir: string): Promise<Workspace> | undefined => {
    if (fixtureCopy === undefined || dir !== opts.fixtureDir) return undefined;
    const made = fixtureCopy;
    fixtureCopy = undefined;
    return made;
  };
  const dropFixtureCopy = async (): Promise<void> => {
    const made = fixtureCopy;
    fixtureCopy = undefined;
    await (await made?.catch(() => undefined))?.dispose();
  };
  for (const [name, ms] of [['enrollTimeoutMs', enrollTimeoutMs], ['toolTimeoutMs', toolTimeoutMs]] as const) {
    if (!Number.isSafeInteger(ms) || ms < 1) throw new RangeError(`createRuntime: ${name} must be a positive whole number of milliseconds`);
  }

  // Every message passes the redactor before it is signed, so the signature covers what the bundle holds.
  const send = createRuntimeSender({ signingKey: opts.signingKey, endpoint: opts.endpoint, redactor, log });
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
        const { ask } = message;
        let cloudRules: RuleSet | undefined;
        let workspace: Workspace | undefined;
        let boundary: Sandbox | undefined;
        let snapshotter: Snapshotter;
        let baseline: Snapshot;
        let layers: PolicyLayers;
        let secrets: Redactor;
        let boundaryReady: Promise<Sandbox> | undefined;
        try {
          cloudRules = parseCloudRules(message.cloudRules);
          // The workspace is prepared while the sandbox is being made.
          boundaryReady = getSandbox();
          boundaryReady.catch(() => undefined);
          const source = await resolveRepository(ask, { localRules: opts.localRules, fixtureDir: opts.fixtureDir, workspaceSource: opts.workspaceSource ?? 'auto', repository: opts.repository });
          resolveAgent(agents, agentOf(ask));
          const tmp = opts.tmpRoot === undefined ? {} : { tmpRoot: opts.tmpRoot };
          const baseBranch = ask.workspace.baseBranch;
          if (source.kind === 'remote') await checkRemoteRepository(source.url, baseBranch);
          workspace =
            source.kind === 'copy'
              ? ((await takeFixtureCopy(source.dir)?.catch(() => undefined)) ?? (await prepareWorkspace({ fixtureDir: source.dir, clock: opts.clock, ...tmp })))
              : await checkoutWorkspace({ ...(source.kind === 'remote' ? { remote: source.url } : { repoDir: source.dir }), baseBranch, ...tmp });
          boundary = await boundaryReady;
          snapshotter = await createSnapshotter(workspace.dir);
          layers = { cloud: cloudRules, ...omitUndefined({ local: opts.localRules }) };
          const marked = layers;
          baseline = await snapshotter.take();
          secrets = redactor.withKnownValues(await readWorkspaceSecrets(workspace.dir, baseline, (path) => isSecretFile(marked, path)));
        } catch (caught) {
          // A sandbox that cannot be made is the session's reason, as when it was awaited before the rest.
          const sandboxFailure = await boundaryReady?.then(
            (made) => {
              boundary = made;
              return undefined;
            },
            (failure: unknown) => failure ?? new RuntimeError('SANDBOX_UNAVAILABLE', 'the sandbox could not be made'),
          );
          const error = sandboxFailure ?? caught;
          leaseLost.delete(message.sessionId);
          await workspace?.dispose();
          // Cloud waits on this session; tell it why it will not start rather than go silent.
          const code = error instanceof RuntimeError ? error.code : 'RUNTIME_INTERNAL';
          const reason = error instanceof RuntimeError ? error.message : 'the runtime could not open the session';
          // A refusal by the runtime's local configuration is its decision, signed and in the Proof like any other.
          const refusal = cloudRules === undefined ? undefined : refusalScope(code, ask, agentOf(ask));
          if (refusal !== undefined && cloudRules !== undefined) {
            const record = toDecisionRecord(
              {
                scope: refusal.scope,
                effect: 'deny',
                matchedRuleIds: [],
                decidingRuleId: refusal.ruleId,
                reason: `${code}: ${reason}`,
                policyDigest: computePolicyDigest({ cloud: cloudRules, ...omitUndefined({ local: opts.localRules }) }),
                warnings: [],
              },
              { decisionId: opts.ids.next('rdec'), timestamp: now(), runId: message.runId, askId: ask.askId, evaluatedAt: 'runtime' },
            );
            await send({ type: 'evidence.policy-decision', messageId: messageId(), runId: message.runId, sessionId: message.sessionId, record });
          }
          await send({
            type: 'session.ended',
            messageId: messageId(),
            runId: message.runId,
            sessionId: message.sessionId,
            outcome: 'failed',
            reason,
            code,
            workspaceUnchanged: true,
            endedAt: now(),
            ...omitUndefined({ sandbox: boundary?.info }),
          });
          return;
        }
        const opened: SessionState = { runId: message.runId, sessionId: message.sessionId, ask, cloudRules, workspace, sandbox: boundary, snapshotter, baseline, layers, redactor: secrets };
        // Its lease was refused while the workspace was being made: it ends here, never accepted.
        const lost = leaseLost.get(message.sessionId);
        if (lost !== undefined) {
          leaseLost.delete(message.sessionId);
          await endSession(opened, 'halted', lost, 'LEASE_LOST');
          return;
        }
        sessions.set(message.sessionId, opened);
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

  const agentOf = (ask: Ask): string => ask.agent ?? opts.defaultAgent ?? SCRIPTED_AGENT_NAME;

  const takeSession = (sessionId: string): SessionState => {
    const session = sessions.get(sessionId);
    if (session === undefined) throw new RuntimeError('SESSION_UNKNOWN', `no open session ${sessionId}`);
    sessions.delete(sessionId);
    return session;
  };

  const endSession = async (
    session: SessionState,
    outcome: 'completed' | 'halted' | 'failed',
    reason: string,
    code?: string,
    agent?: AgentInfo,
    proposal?: { title: string; body: string },
  ): Promise<void> => {
    // Cloud hears the end first; the workspace goes while it carries on (idle() waits for both).
    try {
      // A completed session wrote its change on purpose; only a stopped one needs the check.
      const unchanged = outcome === 'completed' ? false : await isWorkspaceUnchanged(session.workspace);
      const ended: UnsignedRuntimeMessage = {
        type: 'session.ended',
        messageId: messageId(),
        runId: session.runId,
        sessionId: session.sessionId,
        outcome,
        reason,
        ...omitUndefined({ code }),
        workspaceUnchanged: unchanged,
        endedAt: now(),
        ...omitUndefined({ agent }),
        ...(proposal === undefined || outcome !== 'completed' ? {} : { proposal }),
      };
      await send(ended, session.redactor);
    } finally {
      await disposeSession(session);
    }
  };

  const disposeSession = async (session: SessionState): Promise<void> => {
    await Promise.all([session.workspace.dispose(), session.snapshotter.dispose()]);
  };

  const runSession = async (session: SessionState): Promise<void> => {
    const { runId, sessionId, ask } = session;
    const halt = new AbortController();
    running.set(sessionId, halt);
    const inRun = { runId, sessionId };
    const host = createToolHost({
      ...inRun,
      ask,
      workspaceDir: session.workspace.dir,
      baselineCommit: session.workspace.baselineCommit,
      sandbox: session.sandbox,
      snapshotter: session.snapshotter,
      baselineSnapshot: session.baseline,
      judge: createJudge({
        layers: session.layers,
        grant: createAskGrant(ask.requestedScopes),
        workspaceDir: session.workspace.dir,
      }),
      evidence: createSessionEvidence({ send: (message) => send(message, session.redactor), messageId, ...inRun }),
      secrets: { redactor: session.redactor, isSecretFile: (path) => isSecretFile(session.layers, path) },
      clock: opts.clock,
      ids: opts.ids,
      toolTimeoutMs,
      halt: halt.signal,
      ...omitUndefined({ signal: opts.signal, testCommand: ask.testCommand }),
      log,
    });
    try {
      const name = agentOf(ask);
      const entry = resolveAgent(agents, name);
      const { end, agent } = await runSessionAgent({
        host,
        ask,
        name,
        ...(entry === undefined ? {} : { command: entry.command, network: entry.network }),
        sandbox: session.sandbox,
        workspaceDir: session.workspace.dir,
        ...omitUndefined({ tmpRoot: opts.tmpRoot }),
        toolTimeoutMs,
        signal: AbortSignal.any([halt.signal, ...(opts.signal ? [opts.signal] : [])]),
        // Each egress decision goes to the runtime's log as it is made; node-session.json gets the tally.
        egress: { ...opts.egress, onDecision: (decision) => log('runtime.egress', { sessionId, ...decision }) },
      });
      // Stopped because its lease was refused: whatever the agent made of the stop, that is how it ended.
      const lost = leaseLost.get(sessionId);
      if (lost !== undefined) await endSession(session, 'halted', lost, 'LEASE_LOST', agent);
      else await endSession(session, end.outcome, end.reason, end.code, agent, end.proposal);
    } catch (error) {
      const lost = leaseLost.get(sessionId);
      if (lost !== undefined) {
        await endSession(session, 'halted', lost, 'LEASE_LOST').catch(() => undefined);
        return;
      }
      log('runtime.session-failed', { sessionId, code: (error as { code?: unknown }).code ?? 'INTERNAL' });
      const code = error instanceof RuntimeError ? error.code : 'RUNTIME_INTERNAL';
      await endSession(session, 'failed', error instanceof RuntimeError ? error.message : 'the runtime failed', code).catch(() => undefined);
    } finally {
      running.delete(sessionId);
      leaseLost.delete(sessionId);
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
      await dropFixtureCopy();
      for (const session of sessions.values()) await session.workspace.dispose();
    },
    stopSession: async (sessionId, reason) => {
      log('runtime.session-stopped', { sessionId, code: 'LEASE_LOST' });
      leaseLost.set(sessionId, reason);
      const inFlight = running.get(sessionId);
      if (inFlight !== undefined) {
        inFlight.abort();
        return;
      }
      const session = sessions.get(sessionId);
      if (session === undefined) return;
      sessions.delete(sessionId);
      leaseLost.delete(sessionId);
      await endSession(session, 'halted', reason, 'LEASE_LOST');
    },
  };
}

/** The scope and reserved rule a refusal at session open is recorded under, or none for a failure that is no refusal. */
function refusalScope(code: string, ask: Ask, agent: string): { scope: { kind: 'shell.exec' | 'pr.create'; target: string }; ruleId: string } | undefined {
  const work = { kind: 'pr.create' as const, target: `${ask.workspace.repository}@${ask.workspace.baseBranch}` };
  switch (code) {
    case 'AGENT_UNKNOWN':
      return { scope: { kind: 'shell.exec', target: agent }, ruleId: RESERVED_RULE_IDS.agentUnknown };
    case 'REPOSITORY_NOT_SERVED':
    case 'REPO_NOT_GIT':
    case 'BASE_BRANCH_MISSING':
      return { scope: work, ruleId: RESERVED_RULE_IDS.repositoryNotServed };
    default:
      return undefined;
  }
}

function parseCloudRules(value: { fileName: string; document: JsonValue }): RuleSet {
  try {
    return parseRuleSet(value.document, value.fileName);
  } catch (cause) {
    throw new RuntimeError('RULES_INVALID', 'the Cloud rules sent with the dispatch are not a valid rule set', { cause });
  }
}
