// What the runtime takes for a git repository it serves: a work tree's top level or a bare
// repository is checked out fresh, never copied; a plain directory is copied; anything else
// given as a repository (a file, a missing path, a directory inside one) is REPO_NOT_GIT.
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Ask } from '@lumenflow/protocol';
import { runGit } from '../src/workspace.js';
import { checkLocalRepository, holdsRepository } from '../src/checkout.js';
import { resolveRepository } from '../src/served.js';

const FIXTURE = resolve(import.meta.dirname, '../../../scripts/demo/fixtures/calc');
let work: string;
let repo: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lumenflow-checkout-'));
  repo = join(work, 'widgets');
  await mkdir(join(repo, 'src'), { recursive: true });
  await writeFile(join(repo, 'src/a.js'), 'a\n');
  await runGit(repo, ['init', '--quiet', '--initial-branch=trunk']);
  await runGit(repo, ['add', '--all']);
  await runGit(repo, ['commit', '--quiet', '-m', 'a'], new Date('2026-11-20T00:00:00Z'));
  await runGit(work, ['clone', '--quiet', '--bare', '--', repo, 'bare.git']);
  await symlink(repo, join(work, 'link'));
  await writeFile(join(work, 'file'), 'not a repository\n');
}, 30_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('a served directory', () => {
  test('holds a repository when it is a work tree top level or a bare repository; the bundled fixture and a subdirectory do not', async () => {
    expect(await holdsRepository(repo)).toBe(true);
    expect(await holdsRepository(join(work, 'bare.git'))).toBe(true);
    expect(await holdsRepository(join(repo, 'src'))).toBe(false);
    expect(await holdsRepository(FIXTURE)).toBe(false);
  });

  test.each([
    ['a work tree top level', () => repo],
    ['a bare repository', () => join(work, 'bare.git')],
    ['a symlink to a top level', () => join(work, 'link')],
  ])('%s is a repository', async (_what, dir) => {
    await expect(checkLocalRepository(dir(), 'trunk')).resolves.toBeUndefined();
  });

  test.each([
    ['a directory inside a work tree', () => join(repo, 'src'), /is a directory inside/],
    ['a directory inside a bare repository', () => join(work, 'bare.git', 'refs'), /is a directory inside/],
    ['a .git directory', () => join(repo, '.git'), /is not a git repository/],
    ['a plain directory', () => work, /is not a git repository$/],
    ['a regular file', () => join(work, 'file'), /\(not a directory\)/],
    ['a missing path', () => join(work, 'nowhere'), /\(no such file or directory\)/],
  ])('%s is REPO_NOT_GIT', async (_what, dir, message) => {
    await expect(checkLocalRepository(dir(), 'trunk')).rejects.toMatchObject({ code: 'REPO_NOT_GIT', message: expect.stringMatching(message) });
  });

  test('is checked out when it holds a repository, whatever it was asked; copied only when it is plain files', async () => {
    const ask = { workspace: { repository: 'acme/widgets', baseBranch: 'trunk' } } as Ask;
    const resolveFor = (dir: string, workspaceSource: 'auto' | 'checkout') => resolveRepository(ask, { localRules: undefined, fixtureDir: dir, workspaceSource, repository: 'acme/widgets' });
    expect(await resolveFor(repo, 'auto')).toEqual({ kind: 'checkout', dir: repo });
    expect(await resolveFor(join(work, 'bare.git'), 'auto')).toEqual({ kind: 'checkout', dir: join(work, 'bare.git') });
    expect(await resolveFor(FIXTURE, 'auto')).toEqual({ kind: 'copy', dir: FIXTURE });
    expect(await resolveFor(FIXTURE, 'checkout')).toEqual({ kind: 'checkout', dir: FIXTURE });
  });
});
