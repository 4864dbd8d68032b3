import { holdsRepository } from './checkout.js';
import { runGit } from './workspace.js';

/** The repository name an Ask's `workspace.repository` uses: `owner/name`. */
const REPOSITORY = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

/**
 * `owner/name` of a git remote URL: `https://host/owner/name(.git)`,
 * `git@host:owner/name(.git)`, `ssh://…/owner/name`, or a path ending in
 * `owner/name(.git)`. Undefined when the URL does not end in two such segments.
 */
export function repositoryFromRemoteUrl(url: string): string | undefined {
  const trimmed = url.trim().replace(/\/+$/, '').replace(/\.git$/, '');
  const segments = trimmed.split(/[/:]/).filter((s) => s !== '');
  const name = segments.slice(-2).join('/');
  return segments.length >= 2 && REPOSITORY.test(name) ? name : undefined;
}

/**
 * The repository a directory holds, by its `origin` remote. Undefined when
 * the directory does not hold a git repository of its own (a directory inside
 * another repository's work tree does not take that repository's name) or has
 * no `origin` it can name.
 */
export async function readServedRepository(dir: string): Promise<string | undefined> {
  if (!(await holdsRepository(dir))) return undefined;
  const url = await runGit(dir, ['config', '--get', 'remote.origin.url']).catch(() => undefined);
  return url === undefined ? undefined : repositoryFromRemoteUrl(url);
}
