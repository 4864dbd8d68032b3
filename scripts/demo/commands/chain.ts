// The chain a demo run wires together: one Cloud and one runtime over the
// in-process transport, and the run request both chains (this one and the
// runtime-as-a-process one in process-runtime.ts) hand to Cloud. Wiring only;
// nothing here decides an outcome.
import { createCloud } from '@lumenflow/cloud';
import type { Approver, PullRequestConfig, RunProgress, RunRequest, RunResult } from '@lumenflow/cloud';
import type { RuleSet } from '@lumenflow/policy';
import { createInProcessTransport, createSequentialIds, omitUndefined } from '@lumenflow/protocol';
import type { Ask, Clock, KnownSecret } from '@lumenflow/protocol';
import { createRuntime, deriveRuntimeLabels } from '@lumenflow/runtime';
import type { HostFacts, RuntimeOptions, Sandbox, Workspace } from '@lumenflow/runtime';
import type { SigningKey } from '@lumenflow/verifier';
import type { ChainTimeouts } from '../timeouts.js';

/** Repo-relative defaults; repo-relative so that evidence never carries a machine's paths. */
export const DEMO_PATHS = {
  asks: 'scripts/demo/asks',
  cloudRules: 'scripts/demo/rules/cloud-policy.yaml',
  localRules: 'scripts/demo/rules/runtime-local.yaml',
  fixture: 'scripts/demo/fixtures/calc',
  /** The repository the bundled fixture stands for; it has no git remote to say so. */
  fixtureRepository: 'lumenflow-demo/calc',
  runtimeKey: '.lumenflow/keys/runtime-key.pem',
} as const;

/** The name the demo's `--agent` command line runs under (an Ask may name it as its `agent`). */
export const EXTERNAL_AGENT = 'external';

/** The scripted approver's identity: never the operator, so the self-approval rule holds. */
export const SCRIPTED_APPROVER = 'reviewer.scripted';

/** Everything a chain run needs, injected; the golden test fixes every one of these. */
export interface ChainInputs {
  runId: string;
  ask: Ask;
  cloudRules: RuleSet;
  localRules?: RuleSet;
  /** Values Cloud and the runtime hold as secret, e.g. a PR provider's token (docs/secrets.md). */
  knownSecrets?: readonly KnownSecret[];
  fixtureDir: string;
  /** The repository `fixtureDir` holds (default: the bundled fixture's); an Ask for another is refused. */
  repository?: string;
  /** `checkout`: `fixtureDir` must be a git repository (`--repo`), worked on as a fresh clone of the Ask's base branch. Default `auto`: a git repository is checked out, a plain directory (the bundled fixture) copied. */
  workspaceSource?: 'auto' | 'checkout';
  /** An agent command line (an MCP client) run in the sandbox for an Ask that names no agent, instead of the scripted agent. */
  agentCommand?: readonly string[];
  outDir: string;
  clock: Clock;
  signingKey: SigningKey;
  runtimeKey: SigningKey;
  host: HostFacts;
  approver: Approver;
  replayUrl: string;
  signal?: AbortSignal;
  onProgress?: (event: RunProgress) => void;
  log?: (event: string, fields: Record<string, unknown>) => void;
  /** Bounds on waits that a silent or hung party would otherwise make endless (defaults in the packages). */
  timeouts?: ChainTimeouts;
  /** Where tool processes run (default: a bubblewrap sandbox the runtime makes itself); may still be being made. */
  sandbox?: Sandbox | Promise<Sandbox>;
  /** The runtime's copy of `fixtureDir`, already being made (RuntimeOptions.fixtureCopy); the runtime removes it if no session takes it. */
  fixtureCopy?: Promise<Workspace>;
  /** How Cloud carries out an approved pull request (absent: no pull-request step). */
  pullRequest?: PullRequestConfig;
  /** The runtime's egress proxy settings for agents with an allow-list (tests only: the CLI never sets them). */
  egress?: RuntimeOptions['egress'];
}

/**
 * Wires one Cloud and one runtime over an in-process transport and runs the Ask.
 * Each side has its own id source, as it will when they are separate processes.
 */
export async function runChain(inputs: ChainInputs): Promise<RunResult> {
  const transport = createInProcessTransport();
  const log = inputs.log ?? (() => undefined);
  // An --agent command line runs under one name, and is the agent of an Ask that names none.
  const external = inputs.agentCommand === undefined ? undefined : { agents: { [EXTERNAL_AGENT]: { command: inputs.agentCommand } }, defaultAgent: EXTERNAL_AGENT };
  const cloud = createCloud({
    endpoint: transport.cloud,
    clock: inputs.clock,
    ids: createSequentialIds(),
    signingKey: inputs.signingKey,
    rules: inputs.cloudRules,
    log,
    ...omitUndefined({ knownSecrets: inputs.knownSecrets }),
  });
  const runtime = createRuntime({
    endpoint: transport.runtime,
    runtimeId: `rt-${inputs.runtimeKey.keyId.slice('sha256:'.length, 'sha256:'.length + 12)}`,
    signingKey: inputs.runtimeKey,
    clock: inputs.clock,
    ids: createSequentialIds(),
    host: inputs.host,
    labels: deriveRuntimeLabels(inputs.host),
    fixtureDir: inputs.fixtureDir,
    repository: inputs.repository ?? DEMO_PATHS.fixtureRepository,
    ...external,
    ...omitUndefined({
      localRules: inputs.localRules,
      workspaceSource: inputs.workspaceSource,
      sandbox: inputs.sandbox,
      fixtureCopy: inputs.fixtureCopy,
      signal: inputs.signal,
      enrollTimeoutMs: inputs.timeouts?.enrollMs,
      toolTimeoutMs: inputs.timeouts?.toolMs,
      knownSecrets: inputs.knownSecrets,
      egress: inputs.egress,
    }),
    log,
  });
  try {
    await runtime.enroll();
    await cloud.waitForRuntime(inputs.ask.runtimeLabels, inputs.signal, inputs.timeouts?.enrollMs);
    return await cloud.run(buildRunRequest(inputs, inputs.signal, inputs.timeouts?.sessionMs));
  } finally {
    await runtime.idle().catch(() => undefined);
    transport.cloud.close();
  }
}

/** The request both chains hand `cloud.run`; the caller picks the signal it may abort and the session bound. */
export function buildRunRequest(inputs: ChainInputs, signal: AbortSignal | undefined, sessionTimeoutMs: number | undefined): RunRequest {
  return {
    runId: inputs.runId,
    ask: inputs.ask,
    approver: inputs.approver,
    outDir: inputs.outDir,
    replayUrl: inputs.replayUrl,
    ...omitUndefined({ sessionTimeoutMs, signal, onProgress: inputs.onProgress, pullRequest: inputs.pullRequest }),
  };
}

