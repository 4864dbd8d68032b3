import { spawnSync } from 'node:child_process';

// Debian's python, not a pyenv shim on PATH: python3-nacl and python3-securesystemslib
// are installed for /usr/bin/python3 only.
export const SYSTEM_PYTHON = '/usr/bin/python3';

/** Runs a Python script with JSON on stdin. `missing` when exit 3 says a module is not installed. */
export function runPython(script: string, input: unknown): { status: 'ok'; output: unknown } | { status: 'missing'; why: string } {
  const child = spawnSync(SYSTEM_PYTHON, [script], { input: JSON.stringify(input), encoding: 'utf8', timeout: 30_000 });
  if (child.error) return { status: 'missing', why: `${SYSTEM_PYTHON}: ${child.error.message}` };
  if (child.status === 3) return { status: 'missing', why: child.stderr.trim() };
  if (child.status !== 0) throw new Error(`${script} exited ${String(child.status)}: ${child.stderr}`);
  return { status: 'ok', output: JSON.parse(child.stdout) as unknown };
}

/** Under CI a missing tool is a failure; locally the test is skipped with the reason. */
export function requireOrSkip(why: string, skip: (note: string) => void): void {
  if (process.env['CI'] === 'true') throw new Error(`${why} (required under CI=true)`);
  skip(why);
}
