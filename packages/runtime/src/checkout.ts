import { RuntimeError } from './errors.js';
import { createWorkspaceDir, runGit } from './workspace.js';
import type { Workspace } from './workspace.js';

/**
 * A fresh checkout of one branch of a git repository in a new temporary
 * directory: the runtime never works in the user's own working tree. The
 * baseline is the branch's commit as it is, so the diff is against what the
 * user has. Git runs with no system or global config (no hooks, filters or
 * credential helpers of the user's run), and with hooks off.
 *
 * @throws {RuntimeError} WORKSPACE_FAILED when the directory is not a git
 *   repository or has no such branch, or the clone fails.
 */
export async function checkoutWorkspace(opts: { repoDir: string; baseBranch: string; tmpRoot?: string }): Promise<Workspace> {
  const head = await runGit(opts.repoDir, ['rev-parse', '--verify', '--quiet', `refs/heads/${opts.baseBranch}^{commit}`]).catch(() => '');
  if (!/^[0-9a-f]{40}\n?$/.test(head)) throw new RuntimeError('WORKSPACE_FAILED', `${opts.repoDir} is not a git repository with a branch ${opts.baseBranch}`);
  const { dir, dispose } = await createWorkspaceDir(opts.tmpRoot);
  try {
    await runGit(dir, ['-c', 'core.hooksPath=/dev/null', 'clone', '--quiet', '--no-hardlinks', '--single-branch', '--branch', opts.baseBranch, '--', opts.repoDir, '.']);
    const baselineCommit = (await runGit(dir, ['rev-parse', 'HEAD'])).trim();
    if (baselineCommit !== head.trim()) throw new RuntimeError('WORKSPACE_FAILED', `the checkout of ${opts.baseBranch} is not at the branch's commit`);
    return { dir, baselineCommit, dispose };
  } catch (cause) {
    await dispose();
    if (cause instanceof RuntimeError && cause.code === 'WORKSPACE_FAILED') throw cause;
    throw new RuntimeError('WORKSPACE_FAILED', `cannot check out ${opts.baseBranch} of ${opts.repoDir}`, { cause });
  }
}
