import { runCloudGit } from './git.js';
import { classifyGitFailure, PrStepFailure } from './scratch.js';
import type { ApprovedCommit } from './scratch.js';

/** True when a remote is written as a URL (`scheme://…`), not a local path. */
export function isUrl(remote: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(remote);
}

/** A remote as evidence may name it: a local path or a URL without user, password, query or fragment. */
export function checkRemote(remote: string): string {
  if (remote.trim() === '' || /[\0\r\n]/.test(remote)) throw new PrStepFailure('PR_CONFIG_INVALID', 'the remote is empty or not one line');
  if (isUrl(remote)) {
    let url: URL;
    try {
      url = new URL(remote);
    } catch {
      throw new PrStepFailure('PR_CONFIG_INVALID', 'the remote is not a valid URL');
    }
    // Credentials in a URL end up in logs, argv and .git/config; they come from the credential helper instead.
    if (url.username !== '' || url.password !== '') throw new PrStepFailure('PR_CONFIG_INVALID', 'the remote URL carries credentials; give the token in GITHUB_TOKEN instead');
    if (url.search !== '' || url.hash !== '') throw new PrStepFailure('PR_CONFIG_INVALID', 'the remote URL has a query or fragment');
    if (!['http:', 'https:', 'file:', 'ssh:', 'git:'].includes(url.protocol)) throw new PrStepFailure('PR_CONFIG_INVALID', `remote scheme ${url.protocol} is not supported`);
  } else if (remote.startsWith('-') || remote.includes('::')) {
    throw new PrStepFailure('PR_CONFIG_INVALID', 'the remote is not a path or URL');
  }
  return remote;
}

/**
 * Pushes the approved commit to a new branch `refs/heads/<branch>` of `remote`:
 * the push carries a lease that the branch does not exist, so nothing already
 * there is ever moved or overwritten. A branch that already holds exactly this
 * commit is success (a retry after a crash); anything else is PR_PUSH_REJECTED.
 *
 * @throws {PrStepFailure} PR_PUSH_REJECTED, PR_PUSH_AUTH_FAILED, PR_REMOTE_UNREACHABLE.
 */
export async function pushApprovedCommit(commit: ApprovedCommit, remote: string, branch: string, credentialConfig: readonly string[]): Promise<void> {
  const ref = `refs/heads/${branch}`;
  const run = (args: readonly string[]) => runCloudGit([...credentialConfig, ...args], { cwd: commit.dir, env: commit.env });
  const result = await run(['push', '--porcelain', '--no-verify', `--force-with-lease=${ref}:`, '--', remote, `${commit.headCommit}:${ref}`]);
  if (result.exitCode === 0) return;
  const failure = classifyGitFailure(result, 'PR_PUSH_REJECTED');
  if (failure.code !== 'PR_PUSH_REJECTED') throw failure;
  const there = await run(['ls-remote', '--', remote, ref]);
  if (there.exitCode === 0 && there.stdout.split('\t')[0] === commit.headCommit) return;
  throw new PrStepFailure('PR_PUSH_REJECTED', `the remote refused ${ref}: it exists and does not hold the approved commit`);
}
