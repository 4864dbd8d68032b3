import { spawnSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// The demo as an operator runs it: a real tsx process, with a link planted where its log goes.
const root = resolve(import.meta.dirname, '..', '..', '..');
const cli = join(root, 'scripts', 'demo', 'trusted-compute.ts');
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const dir = mkdtempSync(join(tmpdir(), 'lf-runlog-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the run log', () => {
  it('is never opened through a planted symlink: the run stops with LOG_UNSAFE and the target is untouched', () => {
    const outDir = join(dir, 'out');
    const target = join(dir, 'victim.txt');
    writeFileSync(target, 'precious\n');
    spawnSync('mkdir', ['-p', outDir]);
    symlinkSync(target, join(outDir, 'run-planted.log'));
    const result = spawnSync(tsx, [cli, '--mode', 'happy', '--out-dir', outDir, '--run-id', 'run-planted', '--sandbox', 'off'], { cwd: root, encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/LOG_UNSAFE/);
    expect(result.stderr).toContain(join(outDir, 'run-planted.log'));
    expect(readFileSync(target, 'utf8')).toBe('precious\n');
    expect(lstatSync(join(outDir, 'run-planted.log')).isSymbolicLink()).toBe(true);
    expect(readdirSync(outDir)).toEqual(['run-planted.log']);
  });
});
