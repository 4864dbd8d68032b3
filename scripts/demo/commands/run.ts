// `--mode happy|policy-blocked`: parses inputs, loads files, wires Cloud and a
// runtime over the in-process transport, and prints. The chain's logic lives in
// @lumenflow/cloud and @lumenflow/runtime; nothing here decides an outcome.
import { constants as fsConstants, existsSync, openSync, statSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline/promises';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { CloudError, createCloud, buildReplayUrl, DEFAULT_REPLAY_BASE_URL, parseAsk } from '@lumenflow/cloud';
import type { ApprovalAnswer, ApprovalRequest, Approver, RunProgress, RunRequest, RunResult, RunStep } from '@lumenflow/cloud';
import { PolicyError, loadRulesFile } from '@lumenflow/policy';
import type { RuleSet } from '@lumenflow/policy';
import { IdSchema, createInProcessTransport, createSequentialIds, createSteppingClock, systemClock } from '@lumenflow/protocol';
import type { Ask, Clock } from '@lumenflow/protocol';
import { RuntimeError, createRuntime, deriveRuntimeLabels, openSandbox, parseSandboxMode, readHostFacts } from '@lumenflow/runtime';
import type { HostFacts, Sandbox, SandboxMode } from '@lumenflow/runtime';
import { DEFAULT_SIGNING_KEY_PATH, VerifierError, loadOrCreateSigningKey } from '@lumenflow/verifier';
import type { SigningKey } from '@lumenflow/verifier';
import { CliError, EXIT } from '../cli-error.js';
import { REPO_ROOT } from '../paths.js';
import { readTimeouts } from '../timeouts.js';
import type { ChainTimeouts } from '../timeouts.js';
import { runChainOverConnections } from './process-runtime.js';
import type { CliOptions } from '../options.js';

/** Repo-relative defaults; repo-relative so that evidence never carries a machine's paths. */
export const DEMO_PATHS = {
  asks: 'scripts/demo/asks',
  cloudRules: 'scripts/demo/rules/cloud-policy.yaml',
  localRules: 'scripts/demo/rules/runtime-local.yaml',
  fixture: 'scripts/demo/fixtures/calc',
  runtimeKey: '.lumenflow/keys/runtime-key.pem',
} as const;

/** The scripted approver's identity: never the operator, so the self-approval rule holds. */
export const SCRIPTED_APPROVER = 'reviewer.scripted';

/** Everything a chain run needs, injected; the golden test fixes every one of these. */
export interface ChainInputs {
  runId: string;
  ask: Ask;
  cloudRules: RuleSet;
  localRules?: RuleSet;
  fixtureDir: string;
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
  /** Where tool processes run (default: a bubblewrap sandbox the runtime makes itself). */
  sandbox?: Sandbox;
}

/**
 * Wires one Cloud and one runtime over an in-process transport and runs the Ask.
 * Each side has its own id source, as it will when they are separate processes.
 */
export async function runChain(inputs: ChainInputs): Promise<RunResult> {
  const transport = createInProcessTransport();
  const log = inputs.log ?? (() => undefined);
  const cloud = createCloud({
    endpoint: transport.cloud,
    clock: inputs.clock,
    ids: createSequentialIds(),
    signingKey: inputs.signingKey,
    rules: inputs.cloudRules,
    log,
  });
  const runtime = createRuntime({
    endpoint: transport.runtime,
    runtimeId: `rt-${inputs.runtimeKey.keyId.slice('sha256:'.length, 'sha256:'.length + 12)}`,
    signingKey: inputs.runtimeKey,
    clock: inputs.clock,
    ids: createSequentialIds(),
    host: inputs.host,
    labels: deriveRuntimeLabels(inputs.host),
    ...(inputs.localRules === undefined ? {} : { localRules: inputs.localRules }),
    fixtureDir: inputs.fixtureDir,
    ...(inputs.sandbox === undefined ? {} : { sandbox: inputs.sandbox }),
    ...(inputs.signal === undefined ? {} : { signal: inputs.signal }),
    ...(inputs.timeouts?.enrollMs === undefined ? {} : { enrollTimeoutMs: inputs.timeouts.enrollMs }),
    ...(inputs.timeouts?.toolMs === undefined ? {} : { toolTimeoutMs: inputs.timeouts.toolMs }),
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
    ...(sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs }),
    ...(signal === undefined ? {} : { signal }),
    ...(inputs.onProgress === undefined ? {} : { onProgress: inputs.onProgress }),
  };
}

/** The CLI's `--mode` command. Returns the exit code; throws CliError for bad input. */
export async function runDemoCommand(options: CliOptions): Promise<number> {
  const mode = options.mode ?? 'happy';
  // --runtime process: the same chain with the runtime as a child process over Connections (process-runtime.ts).
  const chain = options.runtime === 'process' ? runChainOverConnections : runChain;
  const clock = resolveClock(options.clock ?? process.env['LUMENFLOW_CLOCK']);
  const runId = options.runId ?? generateRunId(clock === systemClock ? new Date() : clock.now());
  if (!IdSchema.safeParse(runId).success) {
    throw new CliError('RUN_ID_INVALID', `--run-id ${JSON.stringify(runId)}: expected 1-128 of [A-Za-z0-9._-], starting with a letter or digit`);
  }
  const outDir = resolve(options.outDir);
  const bundleDir = join(outDir, runId);
  if (existsSync(bundleDir)) throw new CliError('RUN_EXISTS', `run ${runId} already exists at ${bundleDir}; evidence is never overwritten`);
  if (options.approve === 'prompt' && !process.stdin.isTTY) {
    throw new CliError('APPROVAL_NO_TTY', '--approve prompt needs an interactive terminal on stdin; use --approve auto or reject');
  }

  const timeouts = readTimeouts(process.env);
  const askPath = options.ask ?? join(REPO_ROOT, DEMO_PATHS.asks, `${mode}.json`);
  const ask = await loadAsk(askPath);
  const cloudRules = await loadRules(options.policy ?? DEMO_PATHS.cloudRules, options.policy === undefined ? REPO_ROOT : process.cwd());
  const localRules = await loadRules(options.localPolicy ?? DEMO_PATHS.localRules, options.localPolicy === undefined ? REPO_ROOT : process.cwd());
  const fixtureDir = resolve(REPO_ROOT, process.env['LUMENFLOW_DEMO_FIXTURE'] ?? DEMO_PATHS.fixture);
  if (!isDirectory(fixtureDir)) throw new CliError('FIXTURE_MISSING', `fixture repository ${fixtureDir} does not exist`);

  const signing = await loadKey(() =>
    loadOrCreateSigningKey({ ...(options.signingKey === undefined ? {} : { flagPath: options.signingKey }), defaultPath: join(REPO_ROOT, DEFAULT_SIGNING_KEY_PATH) }),
  );
  const runtimeKeyFlag = process.env['LUMENFLOW_RUNTIME_KEY'];
  const runtimeKey = await loadKey(() =>
    loadOrCreateSigningKey({ ...(runtimeKeyFlag ? { flagPath: runtimeKeyFlag } : {}), env: {}, defaultPath: join(REPO_ROOT, DEMO_PATHS.runtimeKey) }),
  );

  await mkdir(outDir, { recursive: true }).catch((cause: unknown) => {
    throw new CliError('OUT_DIR_UNWRITABLE', `cannot create ${outDir}`, EXIT.usage, { cause });
  });
  // Keys and evidence stay out of the tool processes' sight, wherever they live.
  const sandbox = await loadSandbox(options.sandbox ?? process.env['LUMENFLOW_SANDBOX'], [signing.path, runtimeKey.path, outDir, join(REPO_ROOT, '.lumenflow')]);
  const logger = createLogger(join(outDir, `${runId}.log`), options.logLevel);
  const printer = createProgressPrinter();
  const controller = new AbortController();
  const onSigint = (): void => controller.abort();
  process.once('SIGINT', onSigint);

  logger.info({ runId, askId: ask.askId, mode, signerKeyId: signing.key.keyId, runtimeKeyId: runtimeKey.key.keyId, keySource: signing.source }, 'run starting');
  let result: RunResult;
  try {
    result = await chain({
      runId,
      ask,
      cloudRules,
      localRules,
      fixtureDir,
      outDir,
      clock,
      sandbox,
      signingKey: signing.key,
      runtimeKey: runtimeKey.key,
      host: readHostFacts(),
      approver: buildApprover(options.approve, printer, controller),
      replayUrl: buildReplayUrl(options.replayBaseUrl ?? process.env['LUMENFLOW_REPLAY_BASE_URL'] ?? DEFAULT_REPLAY_BASE_URL, runId),
      signal: controller.signal,
      timeouts,
      onProgress: printer.report,
      log: (event, fields) => logger.debug(fields, event),
    });
  } catch (error) {
    logger.error({ code: (error as { code?: unknown }).code ?? 'INTERNAL' }, 'run failed');
    if (controller.signal.aborted) throw new CliError('INTERRUPTED', 'interrupted; no bundle was written', EXIT.interrupted, { cause: error });
    throw toCliError(error);
  } finally {
    process.removeListener('SIGINT', onSigint);
    logger.flush();
  }

  // policy-blocked intends Rules to stop the run before any tool call, at Cloud or at the runtime.
  const intended = mode === 'policy-blocked' ? result.mode === 'policy-blocked' : ['approved', 'rejected', 'no-approval-needed'].includes(result.ending);
  const displayDir = displayPath(result.dir);
  const verifyCommand = `pnpm demo:trusted-compute --verify ${displayDir} --expect-key-id ${result.keyId}`;
  logger.info({ runId, ending: result.ending, bundleMode: result.mode, dir: displayDir, intended }, 'run finished');
  process.stderr.write(
    [
      '',
      `${result.summary}`,
      `Bundle   ${displayDir}`,
      `Signer   ${result.keyId}`,
      `Verify   ${verifyCommand}`,
      ...(intended ? [] : [`note: --mode ${mode} expected a different ending than "${result.ending}" (exit ${EXIT.notAsIntended})`]),
      '',
    ].join('\n'),
  );
  if (options.json) {
    const summary = {
      runId,
      requestedMode: mode,
      bundleMode: result.mode,
      ending: result.ending,
      endedAsIntended: intended,
      summary: result.summary,
      bundleDir: result.dir,
      signerKeyId: result.keyId,
      toolCalls: result.toolCalls,
      policyDecisions: result.decisions,
      approval: result.approvalStatus,
      verifyCommand,
    };
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  }
  return intended ? EXIT.ok : EXIT.notAsIntended;
}

async function loadSandbox(value: string | undefined, hide: ReadonlyArray<string | undefined>): Promise<Sandbox> {
  const mode: SandboxMode | undefined = parseSandboxMode(value);
  if (mode === undefined) throw new CliError('SANDBOX_INVALID', `LUMENFLOW_SANDBOX=${JSON.stringify(value)}: expected bubblewrap or off`);
  try {
    return await openSandbox({ mode, hide: hide.filter((p): p is string => p !== undefined) });
  } catch (error) {
    if (error instanceof RuntimeError) throw new CliError(error.code, error.message, EXIT.usage, { cause: error });
    throw error;
  }
}

function resolveClock(iso: string | undefined): Clock {
  if (iso === undefined || iso === '') return systemClock;
  const start = new Date(iso);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(iso) || Number.isNaN(start.getTime())) {
    throw new CliError('CLOCK_INVALID', `--clock ${JSON.stringify(iso)}: expected an ISO 8601 instant such as 2026-11-23T10:00:00Z`);
  }
  return createSteppingClock(start);
}

function generateRunId(at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const suffix = Math.floor(Math.random() * 0x1000000).toString(16).padStart(6, '0');
  return `run-${stamp}-${suffix}`;
}

async function loadAsk(path: string): Promise<Ask> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new CliError('ASK_UNREADABLE', `cannot read Ask file ${displayPath(path)} (${(cause as NodeJS.ErrnoException).code ?? 'error'})`, EXIT.usage, { cause });
  }
  try {
    return parseAsk(text, displayPath(path));
  } catch (error) {
    throw toCliError(error);
  }
}

async function loadRules(path: string, base: string): Promise<RuleSet> {
  try {
    return await loadRulesFile(resolve(base, path));
  } catch (error) {
    throw toCliError(error);
  }
}

async function loadKey<T>(load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    throw toCliError(error);
  }
}

function toCliError(error: unknown): unknown {
  if (error instanceof CliError) return error;
  if (error instanceof CloudError) {
    const exit = error.code === 'ABORTED' ? EXIT.interrupted : error.code === 'SESSION_FAILED' || error.code === 'MESSAGE_REJECTED' ? EXIT.internal : EXIT.usage;
    return new CliError(error.code, error.message, exit, { cause: error });
  }
  if (error instanceof PolicyError) return new CliError(error.code, error.message, EXIT.usage, { cause: error });
  if (error instanceof VerifierError) {
    const code = error.code === 'BUNDLE_EXISTS' ? 'RUN_EXISTS' : error.code;
    return new CliError(code, error.message, EXIT.usage, { cause: error });
  }
  if (error instanceof RuntimeError) {
    return new CliError(error.code, error.message, error.code === 'FIXTURE_MISSING' ? EXIT.usage : EXIT.internal, { cause: error });
  }
  return error;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

function createLogger(file: string, level: CliOptions['logLevel']): Logger {
  // A new file, never a followed link or an old file: a symlink planted at <out-dir>/<run-id>.log
  // would otherwise get this run's log appended to whatever it points at.
  let fd: number;
  try {
    fd = openSync(file, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW, 0o600);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new CliError('LOG_UNSAFE', `${file}: ${code === 'EEXIST' || code === 'ELOOP' ? 'already exists (a file or a link); the log is never appended to one' : `cannot be created (${code ?? 'error'})`}`, EXIT.usage, { cause });
  }
  const toFile = pino.destination({ fd, sync: true });
  const streams: Array<{ stream: NodeJS.WritableStream | ReturnType<typeof pino.destination>; level: string }> = [{ stream: toFile, level: 'debug' }];
  if (level === 'debug') streams.push({ stream: process.stderr, level: 'debug' });
  return pino(
    { level, base: null, redact: ['key', 'seed', 'pem', 'privateKey'] },
    pino.multistream(streams),
  );
}

const STEP_LABEL: Record<RunStep, string> = {
  ask: 'Ask',
  dispatch: 'Dispatch',
  rules: 'Rules',
  'tool-calls': 'Tool calls',
  approvals: 'Approvals',
  proof: 'Proof',
};

interface ProgressPrinter {
  report(event: RunProgress): void;
  write(text: string): void;
}

function createProgressPrinter(): ProgressPrinter {
  const started = new Map<RunStep, number>();
  const write = (text: string): void => {
    process.stderr.write(text);
  };
  const ms = (step: RunStep): string => {
    const t0 = started.get(step);
    return t0 === undefined ? '' : ` (${Math.round(performance.now() - t0)} ms)`;
  };
  return {
    write,
    report(event) {
      const label = STEP_LABEL[event.step].padEnd(10);
      switch (event.state) {
        case 'running':
          started.set(event.step, performance.now());
          return;
        case 'item':
          write(`    · ${event.detail}\n`);
          return;
        case 'waiting':
          if (!started.has(event.step)) started.set(event.step, performance.now());
          write(`⏸ ${label} ${event.detail}${ms(event.step)}\n`);
          return;
        case 'ok':
          write(`✓ ${label} ${event.detail}${ms(event.step)}\n`);
          return;
        case 'failed':
          write(`✗ ${label} ${event.detail}${ms(event.step)}\n`);
          return;
        case 'skipped':
          write(`- ${label} ${event.detail}\n`);
          return;
      }
    },
  };
}

function buildApprover(how: CliOptions['approve'], printer: ProgressPrinter, controller: AbortController): Approver {
  if (how === 'auto') {
    return async () => ({ approver: SCRIPTED_APPROVER, decision: 'approved', reason: 'Scripted approver (--approve auto): tests pass and the diff matches the Ask.' });
  }
  if (how === 'reject') {
    return async () => ({ approver: SCRIPTED_APPROVER, decision: 'rejected', reason: 'Scripted rejection (--approve reject): the change is not to be merged.' });
  }
  return (request) => promptApproval(request, printer, controller);
}

async function promptApproval(request: ApprovalRequest, printer: ProgressPrinter, controller: AbortController): Promise<ApprovalAnswer> {
  printer.write(
    [
      `  Approval ${request.approvalId}: ${request.action.kind} ${request.action.repository} ${request.action.head} -> ${request.action.base}`,
      `  requested by ${request.requestedBy}, expires ${request.expiresAt}`,
      `  diff ${request.diffSha256}`,
      `  PR text ${request.prTextSha256}`,
      '',
    ].join('\n'),
  );
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  // In a terminal, readline takes Ctrl-C itself; it must still interrupt the run.
  rl.on('SIGINT', () => controller.abort());
  const ask = (question: string): Promise<string> => rl.question(question, { signal: controller.signal });
  try {
    const approver = (await ask('  Your id (approver): ')).trim();
    const yes = /^y(es)?$/i.test((await ask('  Approve opening this pull request? [y/N] ')).trim());
    const reason = (await ask('  Reason: ')).trim() || (yes ? 'Approved at the terminal.' : 'Rejected at the terminal.');
    return { approver, decision: yes ? 'approved' : 'rejected', reason };
  } finally {
    rl.close();
  }
}
