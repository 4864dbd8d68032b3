import { runCloudGit } from './git.js';
import { PrStepFailure } from './scratch.js';
import type { NewCommit } from './scratch.js';

/** The files the patch provider keeps with the run (bundle artifacts). */
export const PATCH_PROVIDER_FILES = { patch: 'pull-request.patch', request: 'pull-request.txt' } as const;

/**
 * The `patch` provider: nothing leaves the machine. It writes `git format-patch`
 * of the approved commit (applies with `git am`) and a `git request-pull`-style
 * text naming the base, the branch the commit would be pushed to and its head.
 */
export async function renderPatchProviderFiles(commit: NewCommit, opts: { remote: string; branch: string; title: string }): Promise<Record<string, string>> {
  const [formatted, stat] = await Promise.all([
    runCloudGit(['format-patch', '-1', '--stdout', '--binary', '--no-signature', '--full-index', commit.headCommit], { cwd: commit.dir, env: commit.env }),
    runCloudGit(['diff', '--stat=72', '--summary', commit.baseCommit, commit.headCommit], { cwd: commit.dir, env: commit.env }),
  ]);
  if (formatted.exitCode !== 0) throw new PrStepFailure('PR_INTERNAL', `git format-patch exited ${formatted.exitCode}`);
  if (stat.exitCode !== 0) throw new PrStepFailure('PR_INTERNAL', `git diff --stat exited ${stat.exitCode}`);
  const request = [
    `The following changes since commit ${commit.baseCommit}:`,
    '',
    `are available in the Git repository at:`,
    '',
    `  ${opts.remote} ${opts.branch}`,
    '',
    `for you to fetch changes up to ${commit.headCommit}:`,
    '',
    `  ${opts.title}`,
    '',
    '----------------------------------------------------------------',
    stat.stdout.trimEnd(),
    '',
    `Nothing was pushed: this run's pull-request provider is \`patch\`. Apply with \`git am ${PATCH_PROVIDER_FILES.patch}\` on ${commit.baseCommit}.`,
    '',
  ].join('\n');
  return { [PATCH_PROVIDER_FILES.patch]: formatted.stdout, [PATCH_PROVIDER_FILES.request]: request };
}
