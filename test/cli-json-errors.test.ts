// Every command, with --json, prints exactly one parseable JSON document on a
// failure, including failures commander reports before any command runs.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/demo/trusted-compute.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, LUMENFLOW_DEBUG: '' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('--json failures are one JSON document on stdout and one line on stderr', () => {
  it.each([
    ['an unknown flag', ['--verify', '/x', '--bogus', '--json'], 'USAGE', true],
    ['two commands at once', ['--mode', 'happy', '--explain', 'fs.read:a', '--json'], 'USAGE', false],
    ['a bad --port', ['--replay', '/x', '--serve', '--port', '99999', '--json'], 'USAGE', true],
    ['a bad scope for --explain', ['--explain', 'nonsense', '--json'], 'SCOPE_INVALID', false],
    ['a missing Ask for --mode', ['--mode', 'happy', '--ask', '/nonexistent/ask.json', '--out-dir', '/tmp/lumenflow-json-errors', '--json'], 'ASK_UNREADABLE', false],
    ['a missing bundle for --replay', ['--replay', '/nonexistent/bundle', '--json'], 'BUNDLE_NOT_FOUND', true],
  ])('%s', (_label, args, code, verdict) => {
    const run = cli(...args);
    expect(run.status).toBe(2);
    const document = JSON.parse(run.stdout) as { ok: boolean; valid?: boolean; error: { code: string; exitCode: number } };
    expect(document.ok).toBe(false);
    expect(document.valid).toBe(verdict ? false : undefined);
    expect(document.error).toMatchObject({ code, exitCode: 2 });
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`^error ${code}: `))]);
  });

  it('prints nothing extra on success paths such as --help', () => {
    const run = cli('--help', '--json');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('Usage:');
  });
});
