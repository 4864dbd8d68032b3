// `--mode happy|policy-blocked`: parses inputs, loads files, wires Cloud and a
// runtime over the in-process transport, and prints. The chain's logic lives in
// @lumenflow/cloud and @lumenflow/runtime; nothing here decides an outcome.
import { constants as fsConstants, existsSync, openSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { CloudError, parseAsk } from '@lumenflow/cloud';
import { buildReplayUrl, DEFAULT_REPLAY_BASE_URL } from '@lumenflow/replay';
import type { Approver, RunProgress, RunResult, RunStep } from '@lumenflow/cloud';
import { PolicyError, loadRulesFile, splitCommandLine } from '@lumenflow/policy';
import type { RuleSet } from '@lumenflow/policy';
import { IdSchema, createRedactor, createSteppingClock, omitUndefined, secretsFromEnvironment, systemClock } from '@lumenflow/protocol';
import type { Ask, Clock, KnownSecret, Redactor } from '@lumenflow/protocol';
import { RuntimeError, openSandbox, parseSandboxMode, prepareWorkspace, probeBubblewrap, readHostFacts, readServedRepository } from '@lumenflow/runtime';
import type { Sandbox, SandboxMode } from '@lumenflow/runtime';
import { DEFAULT_SIGNING_KEY_PATH, VerifierError, loadOrCreateSigningKey, makeDirectories } from '@lumenflow/verifier';
import { CliError, EXIT } from '../cli-error.js';
import { REPO_ROOT } from '../paths.js';
import { readTimeouts } from '../timeouts.js';
import { buildPullRequestConfig, checkPullRequestFlags } from '../pull-request-options.js';
import { promptApproval } from './approval-prompt.js';
import { DEMO_PATHS, SCRIPTED_APPROVER, runChain } from './chain.js';
import { runChainOverConnections } from './process-runtime.js';
import type { RunOptions } from '../options.js';

/** The CLI's `run` command (also `--mode`). Returns the exit code; throws CliError for bad input. */
export async function runDemoCommand(options: RunOptions): Promise<number> {
  const { mode } = options;
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

  // The sandbox's host probe runs its processes while the inputs below are read and checked.
  const sandboxSetting = options.sandbox ?? process.env['LUMENFLOW_SANDBOX'];
  if (parseSandboxMode(sandboxSetting) === 'bubblewrap') probeBubblewrap().catch(() => undefined);
  const timeouts = readTimeouts(process.env);
  // Cloud's base repository (the patch provider's; git processes) is made while the inputs
  // are read, the keys load and the sandbox probe runs: for the bundled fixture at once, for
  // --repo once the Ask names what to check. Each check below still answers as before, and
  // an error before the chain leaves nothing behind.
  const prFlags = omitUndefined({ pr: options.pr, prRemote: options.prRemote, githubApiUrl: options.githubApiUrl, githubRepo: options.githubRepo });
  const startPullRequestSetup = (repoDir: string | undefined, fixtureDir: string): ReturnType<typeof buildPullRequestConfig> => {
    const setup = buildPullRequestConfig({ flags: prFlags, env: process.env, outDir, repoDir, fixtureDir, clock });
    setup.catch(() => undefined);
    return setup;
  };
  const bundledFixture = resolve(REPO_ROOT, process.env['LUMENFLOW_DEMO_FIXTURE'] ?? DEMO_PATHS.fixture);
  const onBundledFixture = options.repo === undefined && isDirectory(bundledFixture);
  // So is the runtime's copy of the bundled fixture, for the in-process runtime to take at session
  // open (RuntimeOptions.fixtureCopy); a run that never gets there removes it below.
  const fixtureCopy = onBundledFixture && options.runtime !== 'process' ? prepareWorkspace({ fixtureDir: bundledFixture, clock }) : undefined;
  fixtureCopy?.catch(() => undefined);
  let pullRequestSetup = onBundledFixture ? startPullRequestSetup(undefined, bundledFixture) : undefined;
  let ask: Ask;
  let cloudRules: RuleSet;
  let localRules: RuleSet;
  let agentCommand: readonly string[] | undefined;
  let repo: Awaited<ReturnType<typeof readUserRepository>> | undefined;
  let fixtureDir: string;
  let prepared: Prepared;
  try {
    const askPath = options.ask ?? join(REPO_ROOT, DEMO_PATHS.asks, `${mode}.json`);
    ask = await loadAsk(askPath);
    cloudRules = await loadRules(options.policy ?? DEMO_PATHS.cloudRules, options.policy === undefined ? REPO_ROOT : process.cwd());
    localRules = await loadRules(options.localPolicy ?? DEMO_PATHS.localRules, options.localPolicy === undefined ? REPO_ROOT : process.cwd(), { local: true });
    agentCommand = options.agent === undefined ? undefined : parseAgentCommand(options.agent);
    repo = options.repo === undefined ? undefined : await readUserRepository(resolve(options.repo), ask);
    fixtureDir = repo?.dir ?? bundledFixture;
    // The bundled fixture is the CLI's own: missing, it is an install problem. A --repo that is not
    // a git repository (a file, a missing path, a directory inside one) is the runtime's to refuse,
    // with REPO_NOT_GIT in a signed bundle.
    if (repo === undefined && !isDirectory(fixtureDir)) throw new CliError('FIXTURE_MISSING', `fixture repository ${fixtureDir} does not exist`);
    checkPullRequestFlags(prFlags, process.env);
    pullRequestSetup ??= startPullRequestSetup(repo?.dir, fixtureDir);
    prepared = await prepareRun(options, { outDir, runId, localRules, sandboxSetting });
  } catch (error) {
    await Promise.all([disposeMade(pullRequestSetup), disposeMade(fixtureCopy)]);
    throw error;
  }
  const { signing, runtimeKey, sandbox, knownSecrets, secrets, logger } = prepared;
  logger.info({ runId, askId: ask.askId, mode, signerKeyId: signing.key.keyId, runtimeKeyId: runtimeKey.key.keyId, keySource: signing.source }, 'run starting');
  const pullRequest = await pullRequestSetup.catch(async (error: unknown) => {
    await disposeMade(fixtureCopy);
    throw error;
  });
  const printer = createProgressPrinter(secrets);
  const controller = new AbortController();
  const onSigint = (): void => controller.abort();
  process.once('SIGINT', onSigint);
  // A host that cannot make the sandbox stops the run with the sandbox's own error, before anything is written.
  sandbox.catch((error: unknown) => controller.abort(error));
  let result: RunResult;
  try {
    result = await chain({
      runId,
      ask,
      cloudRules,
      localRules,
      knownSecrets,
      fixtureDir,
      ...omitUndefined({ workspaceSource: repo === undefined ? undefined : ('checkout' as const), repository: repo?.repository, agentCommand }),
      outDir,
      clock,
      sandbox,
      ...omitUndefined({ fixtureCopy }),
      signingKey: signing.key,
      runtimeKey: runtimeKey.key,
      host: readHostFacts(),
      approver: buildApprover(options.approve, printer, controller),
      replayUrl: buildReplayUrl(options.replayBaseUrl ?? process.env['LUMENFLOW_REPLAY_BASE_URL'] ?? DEFAULT_REPLAY_BASE_URL, runId),
      signal: controller.signal,
      timeouts,
      onProgress: afterSandbox(sandbox, printer.report),
      log: (event, fields) => logger.debug(fields, event),
      pullRequest: pullRequest.config,
    });
  } catch (error) {
    logger.error({ code: (error as { code?: unknown }).code ?? 'INTERNAL' }, 'run failed');
    if (controller.signal.aborted) {
      const reason: unknown = controller.signal.reason;
      throw reason instanceof CliError ? reason : new CliError('INTERRUPTED', 'interrupted; no bundle was written', EXIT.interrupted, { cause: error });
    }
    throw toCliError(error);
  } finally {
    process.removeListener('SIGINT', onSigint);
    await pullRequest.dispose();
    logger.flush();
  }

  // policy-blocked intends Rules to stop the run before any tool call, at Cloud or at the runtime.
  const intended = mode === 'policy-blocked' ? result.mode === 'policy-blocked' : ['approved', 'rejected', 'no-approval-needed'].includes(result.ending);
  const displayDir = displayPath(result.dir);
  const verifyCommand = `pnpm demo:trusted-compute --verify ${displayDir} --expect-key-id ${result.keyId}`;
  logger.info({ runId, ending: result.ending, bundleMode: result.mode, dir: displayDir, intended }, 'run finished');
  printer.write(
    [
      '',
      `${result.summary}`,
      `Bundle   ${displayDir}`,
      `Signer   ${result.keyId}`,
      `Verify   ${verifyCommand}`,
      ...(intended ? [] : [notAsIntended(mode, result)]),
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
      ...omitUndefined({ pullRequest: result.pullRequest, code: result.code }),
      verifyCommand,
    };
    process.stdout.write(`${JSON.stringify(secrets.redactValue(summary).value, null, 2)}\n`);
  }
  return intended ? EXIT.ok : EXIT.notAsIntended;
}

interface Prepared {
  signing: Awaited<ReturnType<typeof loadOrCreateSigningKey>>;
  runtimeKey: Awaited<ReturnType<typeof loadOrCreateSigningKey>>;
  /** Being made (the host probe) while the chain starts; a failure stops the run before it writes anything. */
  sandbox: Promise<Sandbox>;
  knownSecrets: KnownSecret[];
  secrets: Redactor;
  logger: Logger;
}

/** The keys, the evidence root, the sandbox and the log, in the order their errors are reported. */
async function prepareRun(
  options: RunOptions,
  opts: { outDir: string; runId: string; localRules: RuleSet; sandboxSetting: string | undefined },
): Promise<Prepared> {
  const { outDir, runId } = opts;
  const signing = await loadKey(() =>
    loadOrCreateSigningKey({ ...omitUndefined({ flagPath: options.signingKey }), defaultPath: join(REPO_ROOT, DEFAULT_SIGNING_KEY_PATH) }),
  );
  // An empty LUMENFLOW_RUNTIME_KEY is no key path.
  const runtimeKeyFlag = process.env['LUMENFLOW_RUNTIME_KEY'] || undefined;
  const runtimeKey = await loadKey(() =>
    loadOrCreateSigningKey({ ...omitUndefined({ flagPath: runtimeKeyFlag }), env: {}, defaultPath: join(REPO_ROOT, DEMO_PATHS.runtimeKey) }),
  );

  await makeDirectories(outDir).catch((cause: unknown) => {
    throw new CliError('OUT_DIR_UNWRITABLE', `cannot create --out-dir ${outDir} (${(cause as NodeJS.ErrnoException).code ?? 'error'})`, EXIT.usage, { cause });
  });
  // Keys and evidence stay out of the tool processes' sight, wherever they live.
  const sandbox = loadSandbox(checkSandboxMode(opts.sandboxSetting), [signing.path, runtimeKey.path, outDir, join(REPO_ROOT, '.lumenflow')]);
  sandbox.catch(() => undefined);
  // What this process holds as secret (GITHUB_TOKEN, the local rules' secretEnv): Cloud, the runtime,
  // the log and the screen all redact it (docs/secrets.md).
  const knownSecrets = secretsFromEnvironment(process.env, opts.localRules.document.secretEnv ?? []);
  const secrets = createRedactor({ knownValues: knownSecrets });
  const logger = createLogger(join(outDir, `${runId}.log`), options.logLevel, secrets);
  return { signing, runtimeKey, sandbox, knownSecrets, secrets, logger };
}

/** The one line that says why a run did not end as its mode intends: the runtime's code when it has one. */
function notAsIntended(mode: RunOptions['mode'], result: RunResult): string {
  const ending = `--mode ${mode} expected a different ending than "${result.ending}"`;
  return result.code === undefined ? `note: ${ending} (exit ${EXIT.notAsIntended})` : `error ${result.code}: ${ending}; the bundle records why (exit ${EXIT.notAsIntended})`;
}

function checkSandboxMode(value: string | undefined): SandboxMode {
  const mode: SandboxMode | undefined = parseSandboxMode(value);
  if (mode === undefined) throw new CliError('SANDBOX_INVALID', `LUMENFLOW_SANDBOX=${JSON.stringify(value)}: expected bubblewrap or off`);
  return mode;
}

async function loadSandbox(mode: SandboxMode, hide: ReadonlyArray<string | undefined>): Promise<Sandbox> {
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

async function loadRules(path: string, base: string, opts: { local?: boolean } = {}): Promise<RuleSet> {
  try {
    return await loadRulesFile(resolve(base, path), opts);
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

/** Removes what was being made ahead for a run that stops before its chain takes it over. */
async function disposeMade(made: Promise<{ dispose(): Promise<void> }> | undefined): Promise<void> {
  await (await made?.catch(() => undefined))?.dispose();
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

function createLogger(file: string, level: RunOptions['logLevel'], secrets: Redactor): Logger {
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
    // Every line's fields pass the one redactor before pino writes them (ADR 0034).
    { level, base: null, redact: ['key', 'seed', 'pem', 'privateKey'], formatters: { log: (fields) => secrets.redactValue(fields).value } },
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

function createProgressPrinter(secrets: Redactor): ProgressPrinter {
  const started = new Map<RunStep, number>();
  const write = (text: string): void => {
    process.stderr.write(secrets.redactText(text).text);
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

/**
 * Holds progress back until the sandbox is made, then passes it on in order: a
 * host without one gets its one error line, not the start of a run.
 */
function afterSandbox(sandbox: Promise<Sandbox>, report: (event: RunProgress) => void): (event: RunProgress) => void {
  let held: RunProgress[] | undefined = [];
  sandbox.then(
    () => {
      const events = held ?? [];
      held = undefined;
      for (const event of events) report(event);
    },
    () => undefined,
  );
  return (event) => {
    if (held === undefined) report(event);
    else held.push(event);
  };
}

function buildApprover(how: RunOptions['approve'], printer: ProgressPrinter, controller: AbortController): Approver {
  if (how === 'auto') {
    return async () => ({ approver: SCRIPTED_APPROVER, decision: 'approved', reason: 'Scripted approver (--approve auto): tests pass and the diff matches the Ask.' });
  }
  if (how === 'reject') {
    return async () => ({ approver: SCRIPTED_APPROVER, decision: 'rejected', reason: 'Scripted rejection (--approve reject): the change is not to be merged.' });
  }
  return (request, subject) => promptApproval(request, subject, printer.write, controller);
}

/** `--agent`: a command line split as a shell would split plain words and quotes, nothing expanded. */
function parseAgentCommand(text: string): string[] {
  const words = splitCommandLine(text);
  if (words === undefined || words.length === 0) throw new CliError('AGENT_INVALID', '--agent needs a command line, e.g. --agent "claude --mcp-config {mcpConfig} -p"', EXIT.usage);
  return words;
}

/**
 * `--repo`: the user's own git repository, as the repository it holds by its
 * origin remote (else the one the Ask names). The runtime checks the rest at
 * session open — a git repository's top level or a bare repository (not a
 * file, a missing path or a directory inside one), with the Ask's base
 * branch, holding the Ask's repository — and refuses with REPO_NOT_GIT, BASE_BRANCH_MISSING or
 * REPOSITORY_NOT_SERVED in a signed bundle. It works on a fresh clone of that
 * branch, never in the user's working tree.
 */
async function readUserRepository(dir: string, ask: Ask): Promise<{ dir: string; repository: string }> {
  return { dir, repository: (await readServedRepository(dir)) ?? ask.workspace.repository };
}
