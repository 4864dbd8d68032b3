import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createSteppingClock } from '@lumenflow/protocol';
import { RuntimeError, executeStep, isWorkspaceUnchanged, openSandbox, prepareWorkspace } from '@lumenflow/runtime';
import type { Snapshot, SnapshotEntry } from '../src/sandbox/snapshot.js';
import { initRepository, mayHoldNewFiles } from '../src/workspace.js';

const FIXTURE = resolve(import.meta.dirname, '../../../scripts/demo/fixtures/calc');
const at = '2026-11-23T10:00:00.000Z';
let tmpRoot: string;

beforeAll(async () => {
  tmpRoot = await mkdtemp(join(tmpdir(), 'lumenflow-ws-test-'));
});
afterAll(async () => {
  await rm(tmpRoot, { recursive: true, force: true });
});

describe('workspace and tools', () => {
  test('the baseline commit depends only on content, not on the clock', async () => {
    const a = await prepareWorkspace({ fixtureDir: FIXTURE, clock: createSteppingClock(new Date(at)), tmpRoot });
    const b = await prepareWorkspace({ fixtureDir: FIXTURE, clock: createSteppingClock(new Date('2031-05-06T07:08:09.000Z')), tmpRoot });
    try {
      expect(a.dir).not.toBe(b.dir);
      expect(a.baselineCommit).toMatch(/^[0-9a-f]{40}$/);
      expect(a.baselineCommit).toBe(b.baselineCommit);
      expect(await isWorkspaceUnchanged(a)).toBe(true);
      await executeStep({ tool: 'write_file', path: 'src/calc.js', content: 'changed\n' }, a.dir);
      expect(await isWorkspaceUnchanged(a)).toBe(false);
    } finally {
      await a.dispose();
      await b.dispose();
    }
  });

  test('a missing fixture is FIXTURE_MISSING', async () => {
    await expect(prepareWorkspace({ fixtureDir: join(tmpRoot, 'nope'), clock: createSteppingClock(new Date(at)), tmpRoot })).rejects.toMatchObject({
      code: 'FIXTURE_MISSING',
    });
    expect(RuntimeError).toBeTypeOf('function');
  });

  test('file tools refuse paths that leave the workspace, including through a symlink', async () => {
    const ws = join(tmpRoot, 'ws');
    await mkdir(join(ws, 'src'), { recursive: true });
    await writeFile(join(tmpRoot, 'outside.txt'), 'outside');
    await symlink(join(tmpRoot, 'outside.txt'), join(ws, 'src', 'link.txt'));
    for (const path of ['../outside.txt', '/etc/hostname', 'src/link.txt']) {
      expect((await executeStep({ tool: 'read_file', path }, ws)).status, path).toBe('failed');
    }
    expect((await executeStep({ tool: 'write_file', path: 'src/link.txt', content: 'x' }, ws)).status).toBe('failed');
    expect(await readFile(join(tmpRoot, 'outside.txt'), 'utf8')).toBe('outside');
  });

  test('run_tests runs the real fixture suite and hashes parsed results, not raw TAP', async () => {
    const ws = await prepareWorkspace({ fixtureDir: FIXTURE, clock: createSteppingClock(new Date(at)), tmpRoot });
    try {
      const sandbox = await openSandbox({ mode: 'bubblewrap' });
      const first = await executeStep({ tool: 'run_tests' }, ws.dir, { sandbox });
      const second = await executeStep({ tool: 'run_tests' }, ws.dir, { sandbox });
      expect(first).toMatchObject({ status: 'failed', exitCode: 1 });
      expect(first.testRun?.counts).toEqual({ total: 3, passed: 1, failed: 2, skipped: 0 });
      expect(second.outputHash).toBe(first.outputHash);
    } finally {
      await ws.dispose();
    }
  });

  test('a step that starts a process refuses to run without a sandbox', async () => {
    const ws = await prepareWorkspace({ fixtureDir: FIXTURE, clock: createSteppingClock(new Date(at)), tmpRoot });
    try {
      await expect(executeStep({ tool: 'run_tests' }, ws.dir)).rejects.toMatchObject({ code: 'SANDBOX_UNAVAILABLE' });
    } finally {
      await ws.dispose();
    }
  });
});

describe('mayHoldNewFiles', () => {
  const file = (sha: string): SnapshotEntry => ({ type: 'file', mode: 0o644, sha256: sha });
  const snap = (entries: Record<string, SnapshotEntry>): Snapshot => new Map(Object.entries(entries));
  const baseline = snap({ 'src': { type: 'dir', mode: 0o755 }, 'src/calc.js': file('a'), 'src/.gitignore': file('g'), '.git': { type: 'dir', mode: 0o755 }, '.git/index': file('i') });

  test('no: the same paths, a changed tracked file, or changes inside .git alone', () => {
    expect(mayHoldNewFiles(baseline, baseline)).toBe(false);
    expect(mayHoldNewFiles(baseline, snap({ ...Object.fromEntries(baseline), 'src/calc.js': file('b'), '.git/index': file('j'), '.git/ORIG_HEAD': file('o') }))).toBe(false);
    const without = new Map(baseline);
    without.delete('src/calc.js');
    expect(mayHoldNewFiles(baseline, without)).toBe(false);
  });

  test('yes: a new path outside .git, a changed or removed .gitignore, or anything in .git/info', () => {
    expect(mayHoldNewFiles(baseline, snap({ ...Object.fromEntries(baseline), 'src/new.js': file('n') }))).toBe(true);
    expect(mayHoldNewFiles(baseline, snap({ ...Object.fromEntries(baseline), 'empty-dir': { type: 'dir', mode: 0o755 } }))).toBe(true);
    expect(mayHoldNewFiles(baseline, snap({ ...Object.fromEntries(baseline), 'src/.gitignore': file('h') }))).toBe(true);
    const noIgnore = new Map(baseline);
    noIgnore.delete('src/.gitignore');
    expect(mayHoldNewFiles(baseline, noIgnore)).toBe(true);
    expect(mayHoldNewFiles(baseline, snap({ ...Object.fromEntries(baseline), '.git/info/exclude': file('x') }))).toBe(true);
  });
});

describe('initRepository', () => {
  test('makes what git init --template= --initial-branch=main makes, as git reads it', async () => {
    const root = await mkdtemp(join(tmpdir(), 'lumenflow-init-'));
    try {
      const ours = join(root, 'ours');
      const theirs = join(root, 'theirs');
      await mkdir(ours);
      initRepository(ours);
      execFileSync('git', ['init', '--quiet', '--template=', '--initial-branch=main', theirs], { env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' } });
      const read = (dir: string, args: string[]): string => execFileSync('git', args, { cwd: dir, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' } });
      for (const args of [['config', '--local', '--list'], ['symbolic-ref', 'HEAD'], ['rev-parse', '--is-bare-repository', '--is-inside-work-tree', '--git-dir']]) {
        expect(read(ours, args)).toBe(read(theirs, args));
      }
      const list = (dir: string): string => execFileSync('find', ['.git'], { cwd: dir, encoding: 'utf8' }).split('\n').sort().join('\n');
      expect(list(ours)).toBe(list(theirs));
      // It takes a commit like any repository.
      await writeFile(join(ours, 'a.txt'), 'a\n');
      read(ours, ['add', 'a.txt']);
      read(ours, ['-c', 'user.name=t', '-c', 'user.email=t@example.test', 'commit', '--quiet', '-m', 'a']);
      expect(read(ours, ['fsck', '--strict']).trim()).toBe('');
      expect(read(ours, ['rev-parse', '--abbrev-ref', 'HEAD']).trim()).toBe('main');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  test('refuses a directory that already holds a repository', async () => {
    const root = await mkdtemp(join(tmpdir(), 'lumenflow-init-'));
    try {
      initRepository(root);
      expect(() => initRepository(root)).toThrow(/EEXIST/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
