import { lstat, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { RuntimeError } from './errors.js';
import { createWorkspaceDir, runGit } from './workspace.js';
import type { Workspace } from './workspace.js';

/**
 * Whether a served directory holds a git repository of its own: a `.git`
 * entry (a work tree's top level) or the layout of a bare repository (`HEAD`,
 * `objects/`, `refs/`). Such a directory is always worked on as a fresh
 * checkout, never copied; only a plain directory of files (the bundled
 * fixture) is. Decided by what is in the directory, not by asking git, so a
 * repository git will not read (another user's, a broken one) is refused with
 * REPO_NOT_GIT rather than copied with its working tree.
 */
export async function holdsRepository(dir: string): Promise<boolean> {
  if (await lstat(join(dir, '.git')).then(() => true, () => false)) return true;
  const kinds = await Promise.all(['HEAD', 'objects', 'refs'].map((name) => stat(join(dir, name)).then((s) => (s.isDirectory() ? 'dir' : 'file'), () => undefined)));
  return kinds[0] === 'file' && kinds[1] === 'dir' && kinds[2] === 'dir';
}

/**
 * Checks, before anything is cloned, that a local directory is a git
 * repository (the top level of a work tree, or a bare repository; not a
 * directory inside one) with the branch an Ask bases its work on.
 *
 * @throws {RuntimeError} REPO_NOT_GIT, BASE_BRANCH_MISSING.
 */
export async function checkLocalRepository(repoDir: string, baseBranch: string): Promise<void> {
  const real = await realpath(repoDir).catch(() => undefined);
  const isDir = real !== undefined && (await stat(real).then((s) => s.isDirectory(), () => false));
  if (real === undefined || !isDir) {
    throw new RuntimeError('REPO_NOT_GIT', `${repoDir} is not a git repository (${real === undefined ? 'no such file or directory' : 'not a directory'})`);
  }
  const top = await repositoryTopLevel(real);
  if (top === undefined) throw new RuntimeError('REPO_NOT_GIT', `${repoDir} is not a git repository`);
  if (top !== real) throw new RuntimeError('REPO_NOT_GIT', `${repoDir} is not a git repository: it is a directory inside ${top}; give the repository's top level`);
  if (!/^[0-9a-f]{40}\n?$/.test(await branchCommit(repoDir, baseBranch))) {
    throw new RuntimeError('BASE_BRANCH_MISSING', `${repoDir} has no branch ${baseBranch}, the Ask's base branch`);
  }
}

/**
 * The real path of the repository `dir` is in: a bare repository's own
 * directory, else its work tree's top level. Undefined when git finds none.
 */
async function repositoryTopLevel(dir: string): Promise<string | undefined> {
  const facts = await runGit(dir, ['rev-parse', '--is-bare-repository', '--absolute-git-dir']).catch(() => undefined);
  const [bare, gitDir] = facts?.trim().split('\n') ?? [];
  if (bare === 'true' && gitDir !== undefined) return realpath(gitDir).catch(() => undefined);
  if (bare !== 'false') return undefined;
  const top = (await runGit(dir, ['rev-parse', '--show-toplevel']).catch(() => ''))?.trim();
  return top === '' ? undefined : realpath(top).catch(() => undefined);
}

/**
 * Checks that a remote git repository has the Ask's base branch (`git
 * ls-remote`, no clone yet).
 *
 * @throws {RuntimeError} BASE_BRANCH_MISSING; WORKSPACE_FAILED when the remote cannot be read.
 */
export async function checkRemoteRepository(remote: string, baseBranch: string): Promise<void> {
  let heads: string;
  try {
    heads = await runGit('/', ['-c', 'protocol.ext.allow=never', 'ls-remote', '--heads', '--', remote, `refs/heads/${baseBranch}`]);
  } catch (cause) {
    throw new RuntimeError('WORKSPACE_FAILED', `cannot read the remote repository ${remote}`, { cause });
  }
  if (!heads.split('\n').some((line) => line.endsWith(`\trefs/heads/${baseBranch}`))) {
    throw new RuntimeError('BASE_BRANCH_MISSING', `${remote} has no branch ${baseBranch}, the Ask's base branch`);
  }
}

/**
 * A fresh checkout of one branch of a git repository (a local directory or a
 * remote URL) in a new temporary directory: the runtime never works in the
 * user's own working tree. The baseline is the branch's commit as it is, so
 * the diff is against what the user has. Git runs with no system or global
 * config (no hooks, filters or credential helpers of the user's run), with
 * hooks off and the `ext::` transport refused.
 *
 * @throws {RuntimeError} REPO_NOT_GIT, BASE_BRANCH_MISSING (a local source);
 *   WORKSPACE_FAILED when the clone fails.
 */
export async function checkoutWorkspace(opts: { repoDir?: string; remote?: string; baseBranch: string; tmpRoot?: string }): Promise<Workspace> {
  const source = opts.repoDir ?? opts.remote;
  if (source === undefined) throw new TypeError('checkoutWorkspace: repoDir or remote is required');
  let expected: string | undefined;
  if (opts.repoDir !== undefined) {
    await checkLocalRepository(opts.repoDir, opts.baseBranch);
    expected = (await branchCommit(opts.repoDir, opts.baseBranch)).trim();
  }
  const { dir, dispose } = await createWorkspaceDir(opts.tmpRoot);
  try {
    await runGit(dir, ['-c', 'core.hooksPath=/dev/null', '-c', 'protocol.ext.allow=never', 'clone', '--quiet', '--no-hardlinks', '--single-branch', '--branch', opts.baseBranch, '--', source, '.']);
    const baselineCommit = (await runGit(dir, ['rev-parse', 'HEAD'])).trim();
    if (expected !== undefined && baselineCommit !== expected) throw new RuntimeError('WORKSPACE_FAILED', `the checkout of ${opts.baseBranch} is not at the branch's commit`);
    return { dir, baselineCommit, dispose };
  } catch (cause) {
    await dispose();
    if (cause instanceof RuntimeError && cause.code === 'WORKSPACE_FAILED') throw cause;
    throw new RuntimeError('WORKSPACE_FAILED', `cannot check out ${opts.baseBranch} of ${source}`, { cause });
  }
}

function branchCommit(repoDir: string, baseBranch: string): Promise<string> {
  return runGit(repoDir, ['rev-parse', '--verify', '--quiet', `refs/heads/${baseBranch}^{commit}`]).catch(() => '');
}
