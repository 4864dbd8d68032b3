#!/usr/bin/env tsx
// The `lumenflow` CLI: `cloud serve`, `cloud enroll-token`, `cloud ask`, `cloud approvals`, `cloud approve`, `runtime connect`.
// Thin wiring only; Connections live in @lumenflow/cloud and @lumenflow/runtime.
// One top-level catch; commands throw CliError and only the entry point sets the exit code.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { pino } from 'pino';
import { CloudError, PR_PROVIDER_KINDS, createCloud, createHttpCloudEndpoint, openCloudStore, openConnectionsServer, openOperatorApi, openOperatorDesk, openPrUseLedger, parseAsk, readPushToken } from '@lumenflow/cloud';
import type { OperatorApi, PullRequestConfig } from '@lumenflow/cloud';
import { DEFAULT_REPLAY_BASE_URL } from '@lumenflow/replay';
import { PolicyError, loadRulesFile } from '@lumenflow/policy';
import type { RuleSet } from '@lumenflow/policy';
import { IdSchema, createRedactor, omitUndefined, secretsFromEnvironment, systemClock } from '@lumenflow/protocol';
import type { IdSource } from '@lumenflow/protocol';
import {
  RUNTIME_VERSION,
  SCRIPTED_AGENT_NAME,
  RuntimeError,
  connectRuntime,
  createConnectionsClient,
  createHttpRuntimeEndpoint,
  createRuntime,
  deriveRuntimeLabels,
  hashHostname,
  openOutbox,
  openSandbox,
  parseSandboxMode,
  readHostFacts,
} from '@lumenflow/runtime';
import { VerifierError, loadOrCreateSigningKey } from '@lumenflow/verifier';
import { parsePort } from './demo/cli-args.js';
import { readTimeouts } from './demo/timeouts.js';
import { CliError, EXIT, reportCliError } from './demo/cli-error.js';
import { REPO_ROOT } from './demo/paths.js';
import { checkPullRequestFlags } from './demo/pull-request-options.js';
import type { PullRequestFlags } from './demo/pull-request-options.js';

const DEFAULTS = {
  cloudRules: 'scripts/demo/rules/cloud-policy.yaml',
  fixture: 'scripts/demo/fixtures/calc',
  fixtureRepository: 'lumenflow-demo/calc',
  stateDir: '.lumenflow/runtime',
  cloudKeyFile: 'cloud-key.pem',
} as const;

/** Parses `500ms`, `30s`, `10m`, `2h` or plain milliseconds. */
export function parseDuration(value: string): number {
  const match = /^(\d+)(ms|s|m|h)?$/.exec(value);
  if (!match) throw new InvalidArgumentError('expected a duration such as 500ms, 30s, 10m or 2h');
  const n = Number(match[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(match[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h'];
  const ms = n * unit;
  if (!Number.isSafeInteger(ms) || ms <= 0) throw new InvalidArgumentError('expected a positive duration');
  return ms;
}

function parsePositiveInt(value: string): number {
  if (!/^[1-9][0-9]{0,5}$/.test(value)) throw new InvalidArgumentError('expected a positive integer');
  return Number(value);
}

type LogLevel = 'silent' | 'error' | 'warn' | 'info' | 'debug';
function createLog(level: LogLevel): (event: string, fields: Record<string, unknown>) => void {
  // Log lines are output like any other: their fields pass the redactor (docs/secrets.md); the runtime adds its own secrets.
  const secrets = createRedactor({ knownValues: secretsFromEnvironment(process.env) });
  const logger = pino({ level, base: null, formatters: { log: (fields) => secrets.redactValue(fields).value } }, pino.destination(2));
  return (event, fields) => logger.info(fields, event);
}

async function loadRules(path: string, opts: { local?: boolean } = {}): Promise<RuleSet> {
  try {
    return await loadRulesFile(resolve(REPO_ROOT, path), opts);
  } catch (error) {
    // PolicyError messages already name the file; name it once.
    if (error instanceof PolicyError) throw new CliError(error.code, error.message.includes(path) || error.message.includes(resolve(REPO_ROOT, path)) ? error.message : `${path}: ${error.message}`, EXIT.usage, { cause: error });
    throw error;
  }
}

/**
 * The data directory of an existing Cloud, for every command but `cloud serve`
 * (which creates one). A typo must not create a directory nobody serves, nor
 * list nothing and exit 0.
 *
 * @throws {CliError} DATA_DIR_MISSING, DATA_DIR_INVALID (exit 2), naming the directory.
 */
async function openDataDir(dir: string): Promise<string> {
  const path = resolve(dir);
  const kind = await stat(path).then(
    (s) => (s.isDirectory() ? 'dir' : 'other'),
    (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? 'missing' : 'other'),
  );
  if (kind === 'missing') throw new CliError('DATA_DIR_MISSING', `${path}: no such directory; start \`cloud serve --data-dir ${dir}\` once to create it`, EXIT.usage);
  if (kind !== 'dir') throw new CliError('DATA_DIR_INVALID', `${path}: not a directory`, EXIT.usage);
  const key = await stat(join(path, DEFAULTS.cloudKeyFile)).catch(() => undefined);
  if (key === undefined) throw new CliError('DATA_DIR_INVALID', `${path}: not a Cloud data directory (no ${DEFAULTS.cloudKeyFile}); start \`cloud serve --data-dir ${dir}\` once to create it`, EXIT.usage);
  return path;
}

/**
 * The enrollment token, from the first of --enroll-token, --enroll-token-file
 * (`-` reads stdin) and LUMENFLOW_ENROLL_TOKEN. A file or the environment keeps
 * it out of argv, which every user on the machine can read in `ps`.
 *
 * @throws {CliError} TOKEN_FILE_UNREADABLE naming the file.
 */
async function readEnrollToken(opts: { enrollToken?: string; enrollTokenFile?: string }, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  if (opts.enrollToken !== undefined) {
    process.stderr.write('warning: --enroll-token is visible to other users in ps; prefer --enroll-token-file or LUMENFLOW_ENROLL_TOKEN\n');
    return opts.enrollToken;
  }
  if (opts.enrollTokenFile !== undefined) {
    const file = opts.enrollTokenFile;
    try {
      return (file === '-' ? readFileSync(0, 'utf8') : await readFile(resolve(file), 'utf8')).trim();
    } catch (error) {
      throw new CliError('TOKEN_FILE_UNREADABLE', `${file === '-' ? 'stdin' : resolve(file)}: cannot read the enrollment token (${(error as NodeJS.ErrnoException).code ?? 'error'})`, EXIT.usage, { cause: error });
    }
  }
  const fromEnv = env['LUMENFLOW_ENROLL_TOKEN'];
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv.trim();
}

/** Resolves on SIGINT or SIGTERM. */
function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolveSignal) => {
    const on = (signal: NodeJS.Signals): void => {
      process.removeListener('SIGINT', on);
      process.removeListener('SIGTERM', on);
      resolveSignal(signal);
    };
    process.once('SIGINT', on);
    process.once('SIGTERM', on);
  });
}

async function serveCommand(opts: {
  dataDir: string;
  port: number;
  lease: number;
  heartbeat: number;
  maxAttempts: number;
  policy?: string;
  approvalTtl?: number;
  databaseUrl?: string;
  logLevel: LogLevel;
} & PullRequestFlags): Promise<number> {
  const dataDir = resolve(opts.dataDir);
  // Cloud performs the pull request (ADR 0037): its provider, remote and token are configured here, never on a runtime.
  const pullRequest = serveConfigForPullRequests(opts, dataDir);
  const log = createLog(opts.logLevel);
  let cloudKey;
  try {
    cloudKey = (await loadOrCreateSigningKey({ defaultPath: join(dataDir, DEFAULTS.cloudKeyFile), env: {} })).key;
  } catch (error) {
    if (error instanceof VerifierError) throw new CliError(error.code, error.message, EXIT.usage, { cause: error });
    throw error;
  }
  // The store: the embedded database in the data directory, or a Postgres server shared with other Clouds.
  const store = await openCloudStore({ dataDir, databaseUrl: opts.databaseUrl }).catch(storeError);
  const server = await openConnectionsServer({
    dataDir,
    store,
    signingKey: cloudKey,
    leaseMs: opts.lease,
    heartbeatIntervalMs: opts.heartbeat,
    maxAttempts: opts.maxAttempts,
    log,
  });
  // The chain's Cloud answers runtime handshakes on the same state; Asks and approval answers reach it through the store (`cloud ask`, `cloud approve`).
  const endpoint = createHttpCloudEndpoint(server);
  const ids = createBootIds();
  const cloud = createCloud({
    endpoint,
    clock: systemClock,
    ids,
    signingKey: cloudKey,
    rules: await loadRules(opts.policy ?? DEFAULTS.cloudRules),
    // A stopped runtime is never chosen; with none online the Ask waits (bounded) for one.
    isRuntimeAvailable: (runtimeId) => server.isRuntimeOnline(runtimeId),
    log,
  });
  let listening;
  try {
    listening = await server.listen(opts.port);
  } catch (error) {
    throw new CliError('LISTEN_FAILED', `cannot listen on 127.0.0.1:${opts.port} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, EXIT.usage, { cause: error });
  }
  const desk = await openOperatorDesk({
    store,
    instanceId: server.instanceId,
    cloud,
    outDir: join(dataDir, 'bundles'),
    signingKey: cloudKey,
    clock: systemClock,
    ids,
    replayBaseUrl: DEFAULT_REPLAY_BASE_URL,
    askLeaseMs: Math.min(opts.lease, 10_000),
    ...omitUndefined({ approvalTtlMs: opts.approvalTtl, pullRequest }),
    log,
  });
  process.stdout.write(`cloud listening on ${listening.url} (key ${cloudKey.keyId})\n`);
  const signal = await waitForSignal();
  await Promise.race([desk.close(), delay(1000)]);
  endpoint.close();
  await server.close();
  await store.close();
  return signal === 'SIGINT' ? EXIT.interrupted : EXIT.ok;
}

/** `cloud serve`'s pull-request flags as Cloud's config; undefined without --pr. @throws {CliError} PR_OPTION_INVALID, PR_TOKEN_MISSING. */
function serveConfigForPullRequests(flags: PullRequestFlags, dataDir: string): PullRequestConfig | undefined {
  if (flags.pr === undefined) {
    if (flags.prRemote !== undefined || flags.githubApiUrl !== undefined || flags.githubRepo !== undefined) throw new CliError('PR_OPTION_INVALID', '--pr-remote, --github-api-url and --github-repo need --pr');
    return undefined;
  }
  const provider = checkPullRequestFlags(flags, process.env);
  // No fixture to rebuild a base from here: the patch provider reads it from --pr-remote.
  if (provider === 'patch' && flags.prRemote === undefined) throw new CliError('PR_OPTION_INVALID', '--pr patch needs --pr-remote (the repository holding the base commit)');
  const token = readPushToken(process.env);
  return {
    provider,
    ledger: openPrUseLedger(join(dataDir, 'pull-requests')),
    ...omitUndefined({ remote: flags.prRemote, githubApiUrl: flags.githubApiUrl, githubRepo: flags.githubRepo, token }),
  };
}

/** The store's refusals are the user's to fix (exit 2): the old file state, a newer schema, a held or unreachable database. */
function storeError(error: unknown): never {
  if (error instanceof CloudError) throw new CliError(error.code, error.message, EXIT.usage, { cause: error });
  throw error;
}

/** The operator API of the Cloud of `dataDir` (its running server, or the store itself), for one command. */
async function withOperator<T>(opts: { dataDir: string; databaseUrl?: string }, fn: (api: OperatorApi, dataDir: string) => Promise<T>): Promise<T> {
  const dataDir = await openDataDir(opts.dataDir);
  const api = await openOperatorApi(dataDir, { databaseUrl: opts.databaseUrl }).catch(storeError);
  try {
    return await parseCloudInput(() => fn(api, dataDir));
  } finally {
    await api.close();
  }
}

async function enrollTokenCommand(opts: { dataDir: string; ttl: number; databaseUrl?: string }): Promise<number> {
  const { token, expiresAt } = await withOperator(opts, (api) => api.createEnrollToken(opts.ttl));
  process.stdout.write(`${token}\n`);
  process.stderr.write(`one-time enrollment token; expires ${expiresAt}\n`);
  return EXIT.ok;
}

async function askCommand(file: string, opts: { dataDir: string; databaseUrl?: string }): Promise<number> {
  await openDataDir(opts.dataDir);
  let text: string;
  try {
    text = await readFile(resolve(file), 'utf8');
  } catch (error) {
    throw new CliError('ASK_UNREADABLE', `${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? 'error'})`, EXIT.usage, { cause: error });
  }
  const ask = await parseCloudInput(() => parseAsk(text, file));
  if (!(await withOperator(opts, (api) => api.submitAsk(ask)))) throw new CliError('ASK_DUPLICATE', `${file}: an Ask with id ${ask.askId} was already submitted`, EXIT.usage);
  process.stdout.write(`${ask.askId}\n`);
  process.stderr.write(`queued for cloud serve; \`cloud ask-status ${ask.askId}\` shows its outcome\n`);
  return EXIT.ok;
}

async function askStatusCommand(askId: string, opts: { dataDir: string; databaseUrl?: string }): Promise<number> {
  const outcome = await withOperator(opts, (api) => api.readAskOutcome(askId));
  if (outcome === undefined) {
    process.stdout.write(`${askId} not finished\n`);
    return EXIT.notAsIntended;
  }
  process.stdout.write(`${JSON.stringify(outcome)}\n`);
  return EXIT.ok;
}

async function approvalsCommand(opts: { dataDir: string; databaseUrl?: string }): Promise<number> {
  for (const p of await withOperator(opts, (api) => api.listPendingApprovals())) {
    const a = p.request.action;
    process.stdout.write(`${p.request.approvalId}  run ${p.runId}  pr.create ${a.repository}@${a.base} <- ${a.head}  requested by ${p.request.requestedBy}  expires ${p.request.expiresAt}\n`);
  }
  return EXIT.ok;
}

async function approveCommand(approvalId: string, opts: { dataDir: string; databaseUrl?: string; approver: string; decision: string; reason: string }): Promise<number> {
  await parseCloudInput(() => checkApprovalId(approvalId));
  if (opts.decision !== 'approved' && opts.decision !== 'rejected') throw new CliError('USAGE', '--decision: approved or rejected', EXIT.usage);
  const answer = { approver: opts.approver, decision: opts.decision, reason: opts.reason } as const;
  const result = await withOperator(opts, async (api, dataDir) => {
    const pending = await api.readPendingApproval(approvalId);
    if (pending === undefined || pending.state !== 'pending') throw new CliError('APPROVAL_UNKNOWN', `no pending approval ${approvalId} under ${dataDir}`, EXIT.usage);
    if (Date.now() > Date.parse(pending.request.expiresAt)) throw new CliError('APPROVAL_EXPIRED', `approval ${approvalId} expired at ${pending.request.expiresAt}`, EXIT.usage);
    return api.answerApproval(approvalId, answer);
  });
  if (result === 'unknown') throw new CliError('APPROVAL_UNKNOWN', `no pending approval ${approvalId}`, EXIT.usage);
  if (result === 'answered') throw new CliError('APPROVAL_ANSWERED', `approval ${approvalId} already has an answer`, EXIT.usage);
  process.stdout.write(`${approvalId} ${opts.decision}; cloud serve signs the bundle\n`);
  return EXIT.ok;
}

/** An id as given on the command line: checked before it names a file. */
function checkApprovalId(approvalId: string): void {
  if (!IdSchema.safeParse(approvalId).success) throw new CloudError('APPROVAL_INVALID', `${approvalId} is not an approval id`);
}

/** Runs a Cloud input check; its CloudError is the user's input error (exit 2). */
async function parseCloudInput<T>(parse: () => T | Promise<T>): Promise<T> {
  try {
    return await parse();
  } catch (error) {
    if (error instanceof CloudError) throw new CliError(error.code, error.message, EXIT.usage, { cause: error });
    throw error;
  }
}

async function connectCommand(opts: {
  cloud: string;
  enrollToken?: string;
  enrollTokenFile?: string;
  stateDir: string;
  workspace?: string;
  workspaceSource?: 'auto' | 'checkout';
  repository?: string;
  localPolicy?: string;
  defaultAgent?: string;
  sandbox?: string;
  logLevel: LogLevel;
}): Promise<number> {
  const sandboxMode = parseSandboxMode(opts.sandbox ?? process.env['LUMENFLOW_SANDBOX']);
  if (sandboxMode === undefined) throw new CliError('SANDBOX_INVALID', `sandbox ${JSON.stringify(opts.sandbox ?? process.env['LUMENFLOW_SANDBOX'])}: expected bubblewrap or off`);
  let url: URL;
  try {
    url = new URL(opts.cloud);
  } catch {
    throw new CliError('USAGE', `--cloud ${opts.cloud}: expected an http URL`);
  }
  if (url.protocol !== 'http:' || !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
    throw new CliError('USAGE', '--cloud: this cut connects over loopback http only');
  }
  // The same bounds as an in-process runtime; a bad value fails before anything connects.
  const timeouts = readTimeouts(process.env);
  const workspace = resolve(REPO_ROOT, opts.workspace ?? DEFAULTS.fixture);
  const workspaceSource = opts.workspaceSource ?? 'auto';
  // With checkout, a path that is not a git repository (missing included) is refused at each session, signed (REPO_NOT_GIT).
  if (workspaceSource === 'auto' && !(await stat(workspace).then((s) => s.isDirectory(), () => false))) {
    throw new CliError('WORKSPACE_MISSING', `${workspace}: no such directory (--workspace)`, EXIT.usage);
  }
  // The local file and the default agent are checked before anything connects (an enrollment token is used once).
  const localRules = opts.localPolicy === undefined ? undefined : await loadRules(opts.localPolicy, { local: true });
  if (opts.defaultAgent !== undefined && opts.defaultAgent !== SCRIPTED_AGENT_NAME && localRules?.document.agents?.[opts.defaultAgent] === undefined) {
    throw new CliError('USAGE', `--default-agent ${opts.defaultAgent}: not an agent of --local-policy (known: ${[SCRIPTED_AGENT_NAME, ...Object.keys(localRules?.document.agents ?? {})].join(', ')})`);
  }
  const enrollToken = await readEnrollToken(opts, process.env);
  const log = createLog(opts.logLevel);
  const host = readHostFacts();
  const labels = deriveRuntimeLabels(host);
  const stateDir = resolve(opts.stateDir);
  const connected = await connectRuntime({
    cloudUrl: url.origin,
    stateDir,
    ...omitUndefined({ enrollToken }),
    labels,
    version: RUNTIME_VERSION,
    host: { os: host.os, arch: host.arch, nodeVersion: host.nodeVersion, hostnameHash: hashHostname(host.hostname) },
  });
  if (!connected.ok) throw new CliError(connected.code, connected.message, EXIT.usage);
  const { state, signingKey } = connected;
  // Before serving anything: a runtime that cannot bound its tool processes says so now, not mid-Ask.
  const sandbox = await openSandbox({ mode: sandboxMode, hide: [stateDir, join(REPO_ROOT, '.lumenflow')] }).catch((error: unknown) => {
    if (error instanceof RuntimeError) throw new CliError(error.code, error.message, EXIT.usage, { cause: error });
    throw error;
  });
  const outbox = await openOutbox(join(stateDir, 'outbox'));
  const controller = new AbortController();
  let leaseLost = false;
  const endpoint = createHttpRuntimeEndpoint({
    client: createConnectionsClient({ baseUrl: url.origin, runtimeId: state.runtimeId, signingKey, clock: systemClock }),
    outbox,
    runtimeId: state.runtimeId,
    signingKey,
    cloudKeyId: state.cloudKeyId,
    cloudPublicKey: connected.cloudPublicKey,
    clock: systemClock,
    heartbeatIntervalMs: state.heartbeatIntervalMs,
    leaseMs: state.leaseMs,
    lastSeq: state.lastSeq,
    saveLastSeq: connected.saveLastSeq,
    // Refused by Cloud: that dispatch ended there (another run of its Ask took over), so that session stops
    // and the runtime serves on. Not renewed in time: Cloud is out of reach, so every lease is in doubt: stop.
    onLeaseLost: (_claim, lost) => {
      if (lost.why === 'LEASE_LOST') {
        void runtime.stopSession(lost.sessionId, 'Cloud refused the lease: another run of the Ask took over').catch(() => undefined);
        return;
      }
      leaseLost = true;
      controller.abort();
    },
    log,
  });
  const runtime = createRuntime({
    endpoint,
    runtimeId: state.runtimeId,
    signingKey,
    clock: systemClock,
    ids: createBootIds(),
    host,
    labels,
    fixtureDir: workspace,
    workspaceSource,
    sandbox,
    ...omitUndefined({
      localRules,
      // Named, or read from the workspace's origin remote at each session; the bundled fixture has none.
      repository: opts.repository ?? (opts.workspace === undefined ? DEFAULTS.fixtureRepository : undefined),
      defaultAgent: opts.defaultAgent,
      enrollTimeoutMs: timeouts.enrollMs,
      toolTimeoutMs: timeouts.toolMs,
    }),
    signal: controller.signal,
    log,
  });
  const stop = waitForSignal();
  const leaseGone = new Promise<'lease'>((resolveLease) => controller.signal.addEventListener('abort', () => resolveLease('lease'), { once: true }));
  const enrolled = runtime.enroll().then(() => 'enrolled' as const);
  const first = await Promise.race([enrolled, stop]);
  if (first !== 'enrolled') {
    endpoint.close();
    return EXIT.interrupted;
  }
  process.stdout.write(`runtime ${state.runtimeId} connected to ${url.origin} (${connected.resumed ? 'resumed' : 'enrolled'}, key ${signingKey.keyId})\n`);
  const why = await Promise.race([stop, leaseGone]);
  if (why === 'lease') await runtime.idle().catch(() => undefined);
  await endpoint.flush();
  endpoint.close();
  if (leaseLost) {
    process.stderr.write('error LEASE_LOST: Cloud no longer holds this runtime\'s lease; the work was stopped\n');
    return EXIT.notAsIntended;
  }
  return why === 'SIGINT' ? EXIT.interrupted : EXIT.ok;
}

/** Ids unique to this process: a restarted runtime must never reuse a record id Cloud already holds. */
function createBootIds(): IdSource {
  const boot = randomBytes(4).toString('hex');
  const counters = new Map<string, number>();
  return {
    next: (prefix) => {
      const n = (counters.get(prefix) ?? 0) + 1;
      counters.set(prefix, n);
      return `${prefix}-${boot}-${String(n).padStart(4, '0')}`;
    },
  };
}

function buildProgram(run: (work: Promise<number>) => void): Command {
  const program = new Command('lumenflow').description('LumenFlow Connections: the Cloud control plane and a connected runtime.');
  program.exitOverride().configureOutput({ writeErr: () => undefined });
  const logLevel = (): Option =>
    new Option('--log-level <level>', 'JSON log level on stderr').choices(['silent', 'error', 'warn', 'info', 'debug']).default('info');
  // Not a secret in most set-ups, but it may carry a password: the environment keeps it out of ps.
  const databaseUrl = (): Option =>
    new Option('--database-url <url>', 'a Postgres server shared by several Clouds (default: the embedded database in --data-dir)').env('LUMENFLOW_DATABASE_URL');
  const cloud = program.command('cloud').description('the control plane');
  cloud.exitOverride().configureOutput({ writeErr: () => undefined });
  cloud
    .command('serve')
    .description('serve Connections on 127.0.0.1; state lives in the database (embedded under --data-dir, or --database-url) and survives a restart')
    .requiredOption('--data-dir <dir>', 'state directory')
    .option('--port <n>', 'port (0 picks a free one)', parsePort, 8787)
    .option('--lease <duration>', 'claim lease length', parseDuration, 30_000)
    .option('--heartbeat <duration>', 'heartbeat interval; a runtime is lost after three missed, or about a second after its connection drops', parseDuration, 5_000)
    .option('--max-attempts <n>', 'attempts per Ask before it fails', parsePositiveInt, 1)
    .option('--policy <file>', 'the Cloud rules file')
    .option('--approval-ttl <duration>', 'how long an approval request stays answerable', parseDuration)
    .addOption(databaseUrl())
    .addOption(new Option('--pr <provider>', 'carry out approved pull requests: patch, git-remote or github (default: none; docs/pull-requests.md)').choices([...PR_PROVIDER_KINDS]))
    .option('--pr-remote <url-or-path>', 'the repository pushed to (git-remote, github) or the base is read from (patch); never with credentials in it')
    .option('--github-api-url <url>', 'with --pr github: the API base URL (default https://api.github.com)')
    .option('--github-repo <owner/name>', "with --pr github: the repository (default: each Ask's); the token comes from GITHUB_TOKEN")
    .addOption(logLevel())
    .exitOverride()
    .action((opts) => run(serveCommand(opts)));
  cloud
    .command('ask')
    .description('submit an Ask to cloud serve (it runs it; `cloud ask-status` shows the outcome)')
    .argument('<ask.json>', 'the Ask')
    .requiredOption('--data-dir <dir>', 'state directory of the Cloud')
    .addOption(databaseUrl())
    .exitOverride()
    .action((file: string, opts) => run(askCommand(file, opts)));
  cloud
    .command('ask-status')
    .description('the outcome of a submitted Ask as JSON (exit 4 while it has none)')
    .argument('<askId>', 'the Ask id `cloud ask` printed')
    .requiredOption('--data-dir <dir>', 'state directory of the Cloud')
    .addOption(databaseUrl())
    .exitOverride()
    .action((askId: string, opts) => run(askStatusCommand(askId, opts)));
  cloud
    .command('approvals')
    .description('list approval requests waiting on a person')
    .requiredOption('--data-dir <dir>', 'state directory of the Cloud')
    .addOption(databaseUrl())
    .exitOverride()
    .action((opts) => run(approvalsCommand(opts)));
  cloud
    .command('approve')
    .description('answer a pending approval (cloud serve settles it and signs the bundle, also after a restart)')
    .argument('<approvalId>', 'the request, as `cloud approvals` lists it')
    .requiredOption('--data-dir <dir>', 'state directory of the Cloud')
    .requiredOption('--approver <id>', 'who answers; never the requester')
    .option('--decision <decision>', 'approved or rejected', 'approved')
    .requiredOption('--reason <text>', 'why')
    .addOption(databaseUrl())
    .exitOverride()
    .action((approvalId: string, opts) => run(approveCommand(approvalId, opts)));
  cloud
    .command('enroll-token')
    .description('print a one-time enrollment token (only its hash is stored)')
    .requiredOption('--data-dir <dir>', 'state directory of the Cloud')
    .option('--ttl <duration>', 'how long the token is valid', parseDuration, 10 * 60_000)
    .addOption(databaseUrl())
    .exitOverride()
    .action((opts) => run(enrollTokenCommand(opts)));
  const runtime = program.command('runtime').description('the connected runtime');
  runtime.exitOverride().configureOutput({ writeErr: () => undefined });
  runtime
    .command('connect')
    .description('enroll (first time) or resume, then serve what Cloud dispatches')
    .requiredOption('--cloud <url>', 'Cloud URL, e.g. http://127.0.0.1:8787')
    .option('--enroll-token <token>', 'one-time enrollment token (first connection only; visible in ps, prefer the next two)')
    .option('--enroll-token-file <file>', 'read the enrollment token from a file, or - for stdin (or set LUMENFLOW_ENROLL_TOKEN)')
    .option('--state-dir <dir>', 'key, enrollment and outbox', DEFAULTS.stateDir)
    .option('--workspace <dir>', 'what the runtime serves: a git repository (each session works on a fresh checkout of the Ask\'s base branch, never in it) or a plain directory of files (copied; the bundled fixture)')
    .addOption(new Option('--workspace-source <how>', 'auto (default): a git repository is checked out, a plain directory copied; checkout: --workspace must be a git repository\'s top level or a bare repository, else each Ask is refused (REPO_NOT_GIT)').choices(['auto', 'checkout']))
    .option('--repository <owner/name>', "the repository --workspace holds (default: its origin remote); Asks for any other are refused")
    .option('--local-policy <file>', 'runtime-local rules (they may only tighten), and the agents and repositories this runtime serves')
    .option('--default-agent <name>', 'the agent for an Ask that names none: one of --local-policy\'s agents (default: the scripted agent)')
    .addOption(new Option('--sandbox <kind>', 'where tool processes run: bubblewrap (default) or off, recorded in the Proof (or LUMENFLOW_SANDBOX)').choices(['bubblewrap', 'off']))
    .addOption(logLevel())
    .exitOverride()
    .action((opts) => run(connectCommand(opts)));
  return program;
}

/** Runs the CLI and returns the exit code. Never throws. */
export async function main(argv: readonly string[]): Promise<number> {
  let work: Promise<number> | undefined;
  const program = buildProgram((w) => {
    work = w;
  });
  try {
    program.parse([...argv], { from: 'user' });
    if (work === undefined) throw new CliError('USAGE', 'choose a command: cloud serve | cloud enroll-token | cloud ask | cloud ask-status | cloud approvals | cloud approve | runtime connect');
    return await work;
  } catch (error) {
    return reportCliError(error, 'choose a command: cloud serve | cloud enroll-token | cloud ask | cloud ask-status | cloud approvals | cloud approve | runtime connect (see --help)');
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  process.exitCode = await main(process.argv.slice(2));
  // Open sockets and timers of a stopped server or runtime must not keep the process alive.
  process.exit();
}
