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
