import { CommanderError } from 'commander';

/**
 * Exit codes of the demo CLI. Documented in README.md; tests assert them.
 *
 * - 0: the command did what its mode intends (a valid bundle; a run that ended
 *      as its mode intends, including a policy halt or a rejected approval).
 * - 1: the evidence is invalid (verify/replay found a failing check).
 * - 2: usage, input or I/O error (bad flag, bad Ask or rules file, unreadable
 *      bundle, existing run id, missing fixture).
 * - 3: an internal error: a bug, reported without a stack trace unless LUMENFLOW_DEBUG=1.
 * - 4: a run did not end as its --mode intends (tests failed, a happy Ask was
 *      blocked, the runtime failed, an approval expired); the bundle is still written.
 * - 130: interrupted (Ctrl-C); no half bundle is left at the final path.
 */
export const EXIT = { ok: 0, invalid: 1, usage: 2, internal: 3, notAsIntended: 4, interrupted: 130 } as const;

/** An error the CLI reports as one line `error <CODE>: message` and turns into an exit code. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: number = EXIT.usage,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The one top-level catch of our CLIs: prints a single line `error <CODE>: …`
 * on stderr and returns the exit code. Bad input never shows a stack trace; a
 * bug shows one only with LUMENFLOW_DEBUG=1.
 *
 * @param missingCommandHint what to tell a user who named a command group
 *   without its subcommand (commander reports that as help shown on error).
 */
export function reportCliError(error: unknown, missingCommandHint = 'choose a command (see --help)'): number {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.ok;
    const message = error.code === 'commander.help' ? missingCommandHint : error.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ');
    process.stderr.write(`error USAGE: ${message}\n`);
    return EXIT.usage;
  }
  if (error instanceof CliError) {
    process.stderr.write(`error ${error.code}: ${error.message}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`error INTERNAL: ${message.split('\n')[0] ?? ''}\n`);
  if (process.env['LUMENFLOW_DEBUG'] === '1' && error instanceof Error) process.stderr.write(`${error.stack ?? ''}\n`);
  return EXIT.internal;
}
