import { PrStepFailure } from './scratch.js';
import type { PushToken } from './credential-helper.js';
import type { PrCode } from './types.js';

/** GitHub's public API; GitHub Enterprise Server and tests give their own. */
export const DEFAULT_GITHUB_API_URL = 'https://api.github.com';
const REPO_NAME = /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)$/;

export interface GithubPullRequest {
  number: number;
  url: string;
  existing: boolean;
  /** The pull request is open, but asking for its reviewers failed. */
  failure?: PrStepFailure;
}

/** `owner/name` split, or PR_CONFIG_INVALID. */
export function parseGithubRepo(repo: string): { owner: string; repo: string } {
  const match = REPO_NAME.exec(repo);
  if (match?.[1] === undefined || match[2] === undefined) throw new PrStepFailure('PR_CONFIG_INVALID', `--github-repo ${JSON.stringify(repo)} is not owner/name`);
  return { owner: match[1], repo: match[2] };
}

/** An API base URL: http(s), no credentials, no query. */
export function checkGithubApiUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new PrStepFailure('PR_CONFIG_INVALID', 'the GitHub API URL is not a URL');
  }
  if (!['http:', 'https:'].includes(parsed.protocol) || parsed.username !== '' || parsed.password !== '' || parsed.search !== '' || parsed.hash !== '') {
    throw new PrStepFailure('PR_CONFIG_INVALID', 'the GitHub API URL must be http(s) with no credentials, query or fragment');
  }
  return url.replace(/\/+$/, '');
}

function apiFailure(error: unknown, during: string): PrStepFailure {
  const status = typeof error === 'object' && error !== null && 'status' in error && typeof error.status === 'number' ? error.status : undefined;
  const response = typeof error === 'object' && error !== null && 'response' in error ? error.response : undefined;
  // Octokit reports a request that got no answer (refused, reset, DNS) as status 500 without a response.
  if (status === undefined || (status === 500 && response === undefined)) return new PrStepFailure('PR_API_UNREACHABLE', `${during}: the GitHub API did not answer`);
  const codes: Record<number, PrCode> = { 401: 'PR_API_UNAUTHORIZED', 403: 'PR_API_FORBIDDEN', 404: 'PR_API_NOT_FOUND', 422: 'PR_API_UNPROCESSABLE' };
  const data = (response as { data?: { message?: unknown } } | undefined)?.data;
  const said = typeof data?.message === 'string' ? `: ${data.message.slice(0, 200)}` : '';
  return new PrStepFailure(codes[status] ?? 'PR_API_FAILED', `${during}: HTTP ${status}${said}`);
}

function alreadyExists(error: unknown): boolean {
  const data = (error as { response?: { data?: { errors?: Array<{ message?: unknown }> } } }).response?.data;
  return (error as { status?: unknown }).status === 422 && (data?.errors ?? []).some((e) => typeof e.message === 'string' && /already exists/i.test(e.message));
}

/**
 * Opens the pull request on GitHub (or finds the open one for this head), then
 * requests the reviewers the Ask names. The head branch must already be pushed.
 *
 * @throws {PrStepFailure} PR_API_UNAUTHORIZED, PR_API_FORBIDDEN, PR_API_NOT_FOUND, PR_API_UNPROCESSABLE, PR_API_FAILED, PR_API_UNREACHABLE.
 */
export async function openGithubPullRequest(opts: {
  apiUrl: string;
  repo: string;
  token: PushToken;
  base: string;
  head: string;
  title: string;
  body: string;
  draft: boolean;
  reviewers: readonly string[];
}): Promise<GithubPullRequest> {
  const { owner, repo } = parseGithubRepo(opts.repo);
  // Loaded here: the other providers, and every other command, never build Octokit's endpoint tables.
  const { Octokit } = await import('@octokit/rest');
  const octokit = new Octokit({
    auth: opts.token.reveal(),
    baseUrl: checkGithubApiUrl(opts.apiUrl),
    userAgent: 'lumenflow-trusted-compute',
    log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
  });
  let pull: GithubPullRequest;
  try {
    const created = await octokit.rest.pulls.create({ owner, repo, base: opts.base, head: opts.head, title: opts.title, body: opts.body, draft: opts.draft });
    pull = { number: created.data.number, url: created.data.html_url, existing: false };
  } catch (error) {
    if (!alreadyExists(error)) throw apiFailure(error, 'create pull request');
    let found;
    try {
      found = await octokit.rest.pulls.list({ owner, repo, head: `${owner}:${opts.head}`, base: opts.base, state: 'open', per_page: 1 });
    } catch (listError) {
      throw apiFailure(listError, 'find the existing pull request');
    }
    const first = found.data[0];
    if (first === undefined) throw new PrStepFailure('PR_API_UNPROCESSABLE', 'GitHub says a pull request for this head exists, and lists none');
    pull = { number: first.number, url: first.html_url, existing: true };
  }
  if (opts.reviewers.length > 0) {
    try {
      await octokit.rest.pulls.requestReviewers({ owner, repo, pull_number: pull.number, reviewers: [...opts.reviewers] });
    } catch (error) {
      return { ...pull, failure: apiFailure(error, `request reviewers on #${pull.number}`) };
    }
  }
  return pull;
}
