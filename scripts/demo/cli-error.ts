import { CommanderError } from 'commander';
import { CodedError, createRedactor, secretsFromEnvironment } from '@lumenflow/protocol';

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
export class CliError extends CodedError<string> {
  override readonly name = 'CliError';
  constructor(
    code: string,
    message: string,
    readonly exitCode: number = EXIT.usage,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** What a failure means for the user: a stable code, one line, and the exit code. */
export interface CliFailure {
  code: string;
  message: string;
  exitCode: number;
}

/**
 * Classifies any thrown value. Bad input (CliError, commander's usage errors)
 * keeps its code; anything else is a bug and becomes INTERNAL.
 *
 * @param missingCommandHint what to tell a user who named a command group
 *   without its subcommand (commander reports that as help shown on error).
 */
export function describeCliError(error: unknown, missingCommandHint = 'choose a command (see --help)'): CliFailure {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return { code: 'OK', message: '', exitCode: EXIT.ok };
    const message = error.code === 'commander.help' ? missingCommandHint : error.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ');
    return { code: 'USAGE', message, exitCode: EXIT.usage };
  }
  if (error instanceof CliError) return { code: error.code, message: error.message, exitCode: error.exitCode };
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'INTERNAL', message: message.split('\n')[0] ?? '', exitCode: EXIT.internal };
}

/**
 * The one top-level catch of our CLIs: prints a single line `error <CODE>: …`
 * on stderr and returns the exit code. Bad input never shows a stack trace; a
 * bug shows one only with LUMENFLOW_DEBUG=1.
 */
export function reportCliError(error: unknown, missingCommandHint?: string): number {
  const failure = describeCliError(error, missingCommandHint);
  if (failure.exitCode === EXIT.ok) return EXIT.ok;
  process.stderr.write(redact(`error ${failure.code}: ${failure.message}\n`));
  if (failure.code === 'INTERNAL' && process.env['LUMENFLOW_DEBUG'] === '1' && error instanceof Error) {
    process.stderr.write(redact(`${error.stack ?? ''}\n`));
  }
  return failure.exitCode;
}

/**
 * With --json, a failure still prints exactly one JSON document on stdout,
 * `{ ok: false, error: { code, message, exitCode } }` (plus `valid: false` for
 * --verify and --replay), so a script that parses stdout never meets an empty
 * or half-written one.
 */
export function writeJsonFailure(error: unknown, verdict: boolean, missingCommandHint?: string): void {
  const failure = describeCliError(error, missingCommandHint);
  if (failure.exitCode === EXIT.ok) return;
  const document = verdict ? { ok: false, valid: false, error: failure } : { ok: false, error: failure };
  process.stdout.write(redact(`${JSON.stringify(document, null, 2)}\n`));
}

// An error's text is output like any other: it passes the redactor (docs/secrets.md).
function redact(text: string): string {
  return createRedactor({ knownValues: secretsFromEnvironment(process.env) }).redactText(text).text;
}

/**
 * A reader that stops early (`--verify … | head`) closes the pipe; the next
 * write then fails with EPIPE, which Node raises as an unhandled 'error' event
 * and a stack trace. Nobody is left to read the rest, so it is dropped; the
 * exit code still carries the verdict.
 */
export function ignoreClosedStdout(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}
