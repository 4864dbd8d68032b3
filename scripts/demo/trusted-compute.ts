#!/usr/bin/env tsx
// The demo CLI: parses flags, picks a command, and owns the one top-level
// catch. Commands live in ./commands and only wire packages together.
import { Command, Option } from 'commander';
import { parsePort } from './cli-args.js';
import { CliError, ignoreClosedStdout, reportCliError, writeJsonFailure } from './cli-error.js';
import type { CliOptions } from './options.js';

function buildProgram(): Command {
  return new Command('trusted-compute')
    .description('LumenFlow Trusted Compute demo: run the chain, verify, explain and replay its Proof.')
    .addOption(new Option('--mode <mode>', 'run the demo chain').choices(['happy', 'policy-blocked']))
    .option('--verify <dir>', 'verify an evidence bundle')
    .option('--explain <scope>', "explain the Rules decision for a scope, e.g. 'fs.write:src/calc.ts'")
    .option('--replay <dir>', 'verify a bundle, rebuild its chain and show the timeline')
    .option('--serve', 'with --replay: serve the Replay page on 127.0.0.1')
    .option('--port <n>', 'with --serve: the port (default 4173; 0 picks a free one)', parsePort)
    .option('--html <file>', 'with --replay: write the Replay page as one self-contained file')
    .option('--out-dir <root>', 'where run bundles are written', 'evidence/demo/trusted-compute')
    .option('--run-id <id>', 'the run id (default: generated)')
    .option('--signing-key <pem>', 'PKCS#8 PEM Ed25519 signing key (or LUMENFLOW_SIGNING_KEY)')
    .option('--policy <file>', 'a rules file (JSON or YAML) that replaces the Cloud policy')
    .option('--local-policy <file>', 'a runtime-local rules file; it may only tighten')
    .option('--ask <file>', 'run this Ask instead of the mode default')
    .option('--repo <dir>', "your own git repository: the runtime works on a fresh clone of the Ask's base branch (default: the bundled fixture)")
    .option('--agent <command>', "an MCP client agent command line, run in the sandbox instead of the scripted agent ({mcpConfig} becomes the MCP config's path)")
    .addOption(new Option('--approve <how>', 'who answers the approval gate').choices(['auto', 'prompt', 'reject']).default('auto'))
    .option('--trusted-key <pem>', 'with --verify/--replay: pin the signer to this public key')
    .option('--expect-key-id <id>', 'with --verify/--replay: pin the signer to this key id (sha256:…)')
    .option('--clock <iso>', 'fix the clock at this instant (or LUMENFLOW_CLOCK), for reproducible bundles')
    .option('--replay-base-url <url>', 'base URL written to replay-link.txt (default http://127.0.0.1:4173)')
    .addOption(new Option('--runtime <kind>', 'where the runtime runs').choices(['in-process', 'process']).default('in-process'))
    .addOption(new Option('--sandbox <kind>', "where tool processes run: bubblewrap (default) or off, recorded in the Proof (or LUMENFLOW_SANDBOX)").choices(['bubblewrap', 'off']))
    .option('--json', 'machine-readable output on stdout')
    .addOption(
      new Option('--log-level <level>', 'pino log level; debug also logs to stderr')
        .choices(['silent', 'error', 'warn', 'info', 'debug'])
        .default('info'),
    )
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ writeErr: () => undefined });
}

async function dispatch(options: CliOptions): Promise<number> {
  const chosen = [options.mode && '--mode', options.verify && '--verify', options.explain && '--explain', options.replay && '--replay'].filter(
    Boolean,
  );
  if (chosen.length !== 1) {
    throw new CliError('USAGE', 'choose exactly one of --mode, --verify, --explain, --replay (see --help)');
  }
  // Each command loads only its own packages: start-up time is most of a demo
  // run's overhead, and --verify should not pay for the chain's module graph.
  if (options.verify !== undefined) return (await import('./commands/verify.js')).runVerifyCommand(options.verify, options);
  if (options.explain !== undefined) return (await import('./commands/explain.js')).runExplainCommand(options.explain, options);
  if (options.replay !== undefined) return (await import('./commands/replay.js')).runReplayCommand(options.replay, options);
  return (await import('./commands/run.js')).runDemoCommand(options);
}

/** Runs the CLI and returns the exit code. Never throws. */
export async function main(argv: readonly string[]): Promise<number> {
  ignoreClosedStdout();
  const program = buildProgram();
  try {
    program.parse([...argv], { from: 'user' });
    return await dispatch(program.opts<CliOptions>());
  } catch (error) {
    // argv, not parsed options: a usage error can come before there are any.
    if (argv.includes('--json')) writeJsonFailure(error, argv.includes('--verify') || argv.includes('--replay'));
    return reportCliError(error);
  }
}

const code = await main(process.argv.slice(2));
process.exitCode = code;
