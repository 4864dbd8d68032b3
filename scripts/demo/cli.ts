// The demo CLI: one commander command per job (run, verify, replay, explain),
// each with its own options, plus the flag forms users already type
// (`--mode happy`, `--verify <dir>`, …; see legacy-argv.ts). It owns the one
// top-level catch. Commands live in ./commands and only wire packages together.
// First: zod's settings hold only for schemas made after them.
import './zod-setup.js';
import { Command, Option } from 'commander';
import { parsePort } from './cli-args.js';
import { ignoreClosedStdout, reportCliError, writeJsonFailure } from './cli-error.js';
import { toCommandArgv } from './legacy-argv.js';
import type { ExplainOptions, ReplayOptions, RunOptions, VerifyOptions } from './options.js';

const MISSING_COMMAND = 'choose a command: run, verify, replay or explain (or --mode, --verify, --replay, --explain; see --help)';

const EXAMPLES = `
Examples:
  pnpm demo:trusted-compute --mode happy                       same as: run --mode happy
  pnpm demo:trusted-compute run --mode policy-blocked --json
  pnpm demo:trusted-compute --verify <dir> --expect-key-id <id>  same as: verify <dir> --expect-key-id <id>
  pnpm demo:trusted-compute replay <dir> --serve
  pnpm demo:trusted-compute explain 'fs.write:src/calc.js'

Run \`<command> --help\` for a command's options.
`;

type Job = () => Promise<number>;

// Each command loads only its own packages when it runs: start-up time is most
// of a demo run's overhead, and verify should not pay for the chain's module graph.
function buildProgram(choose: (name: CommandName, job: Job) => void): Command {
  const program = new Command('trusted-compute')
    .description('LumenFlow Trusted Compute demo: run the chain, verify, explain and replay its Proof.')
    .usage('<command> [options]')
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ writeErr: () => undefined })
    .addHelpText('after', EXAMPLES);

  program
    .command('run')
    .description('run the demo chain and write a signed bundle (also: --mode <mode>)')
    .addOption(new Option('--mode <mode>', 'which Ask and outcome to run').choices(['happy', 'policy-blocked']).default('happy'))
    .option('--out-dir <root>', 'where run bundles are written', 'evidence/demo/trusted-compute')
    .option('--run-id <id>', 'the run id (default: generated)')
    .option('--signing-key <pem>', 'PKCS#8 PEM Ed25519 signing key, a 0600 file (or LUMENFLOW_SIGNING_KEY)')
    .option('--policy <file>', 'a rules file (JSON or YAML) that replaces the Cloud policy')
    .option('--local-policy <file>', 'a runtime-local rules file; it may only tighten')
    .option('--ask <file>', 'run this Ask instead of the mode default')
    .option('--repo <dir>', "your own git repository: the runtime works on a fresh clone of the Ask's base branch (default: the bundled fixture)")
    .option('--agent <command>', "an MCP client agent command line, run in the sandbox instead of the scripted agent ({mcpConfig} becomes the MCP config's path)")
    .addOption(new Option('--approve <how>', 'who answers the approval gate').choices(['auto', 'prompt', 'reject']).default('auto'))
    .option('--clock <iso>', 'fix the clock at this instant (or LUMENFLOW_CLOCK), for reproducible bundles')
    .option('--replay-base-url <url>', 'base URL written to replay-link.txt (default http://127.0.0.1:4173)')
    .addOption(new Option('--runtime <kind>', 'where the runtime runs').choices(['in-process', 'process']).default('in-process'))
    .addOption(new Option('--sandbox <kind>', 'where tool processes run: bubblewrap (default) or off, recorded in the Proof (or LUMENFLOW_SANDBOX)').choices(['bubblewrap', 'off']))
    .addOption(new Option('--pr <provider>', 'how an approved pull request is carried out: patch (offline, default), git-remote or github').choices(['patch', 'git-remote', 'github']))
    .option('--pr-remote <url-or-path>', 'the repository pushed to (git-remote, github) or the base is read from (patch); never with credentials in it')
    .option('--github-api-url <url>', 'with --pr github: the API base URL (default https://api.github.com; GitHub Enterprise Server: https://HOST/api/v3)')
    .option('--github-repo <owner/name>', "with --pr github: the repository (default: the Ask's); the token comes from GITHUB_TOKEN")
    .option('--json', 'a summary as JSON on stdout')
    .addOption(new Option('--log-level <level>', 'pino log level; debug also logs to stderr').choices(['silent', 'error', 'warn', 'info', 'debug']).default('info'))
    .action((options: RunOptions) => choose('run', async () => (await import('./commands/run.js')).runDemoCommand(options)));

  program
    .command('verify')
    .description('verify an evidence bundle (also: --verify <dir>)')
    .argument('<dir>', 'the bundle directory')
    .option('--trusted-key <pem>', 'pin the signer to this public key')
    .option('--expect-key-id <id>', 'pin the signer to this key id (sha256:…)')
    .option('--json', 'the report as JSON on stdout')
    .action((dir: string, options: VerifyOptions) => choose('verify', async () => (await import('./commands/verify.js')).runVerifyCommand(dir, options)));

  program
    .command('replay')
    .description('verify a bundle, rebuild its chain and show the timeline (also: --replay <dir>)')
    .argument('<dir>', 'the bundle directory')
    .option('--trusted-key <pem>', 'pin the signer to this public key')
    .option('--expect-key-id <id>', 'pin the signer to this key id (sha256:…)')
    .option('--serve', 'serve the Replay page on 127.0.0.1 until stopped')
    .option('--port <n>', 'with --serve: the port (default 4173; 0 picks a free one)', parsePort)
    .option('--html <file>', 'write the Replay page as one self-contained file')
    .option('--json', 'the report as JSON on stdout')
    .action((dir: string, options: ReplayOptions) => choose('replay', async () => (await import('./commands/replay.js')).runReplayCommand(dir, options)));

  program
    .command('explain')
    .description("explain the Rules decision for a scope, e.g. 'fs.write:src/calc.js' (also: --explain <scope>)")
    .argument('<scope>', 'kind:target, e.g. fs.read:.env or net.connect:registry.npmjs.org:443')
    .option('--policy <file>', 'a rules file that replaces the Cloud policy')
    .option('--local-policy <file>', 'a runtime-local rules file layered under it')
    .option('--json', 'the explanation as JSON on stdout')
    .action((scope: string, options: ExplainOptions) => choose('explain', async () => (await import('./commands/explain.js')).runExplainCommand(scope, options)));

  return program;
}

/** The command a run of the CLI chose, once commander has parsed its argv. */
export type CommandName = 'run' | 'verify' | 'replay' | 'explain';

/**
 * Runs the CLI and returns the exit code. Never throws. `onCommand` hears which
 * command was chosen (the launcher keeps a code cache per command).
 */
export async function main(argv: readonly string[], onCommand?: (name: CommandName) => void): Promise<number> {
  ignoreClosedStdout();
  let commandArgv: readonly string[] = argv;
  try {
    commandArgv = toCommandArgv(argv);
    let job: Job | undefined;
    buildProgram((name, chosen) => {
      job = chosen;
      onCommand?.(name);
    }).parse([...commandArgv], { from: 'user' });
    if (job === undefined) throw new Error('commander parsed without choosing a command');
    return await job();
  } catch (error) {
    // argv, not parsed options: a usage error can come before there are any.
    if (argv.includes('--json')) writeJsonFailure(error, commandArgv[0] === 'verify' || commandArgv[0] === 'replay', MISSING_COMMAND);
    return reportCliError(error, MISSING_COMMAND);
  }
}

