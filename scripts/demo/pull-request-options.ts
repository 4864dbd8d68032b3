// The pull-request flags (--pr, --pr-remote, --github-api-url, --github-repo and
// GITHUB_TOKEN) turned into Cloud's PullRequestConfig. Wiring only: the step
// itself is @lumenflow/cloud's (docs/pull-requests.md).
import { join } from 'node:path';
import { PR_TOKEN_ENV, openPrUseLedger, readPushToken } from '@lumenflow/cloud';
import type { PrProviderKind, PullRequestConfig } from '@lumenflow/cloud';
import { prepareWorkspace } from '@lumenflow/runtime';
import { omitUndefined } from '@lumenflow/protocol';
import type { Clock } from '@lumenflow/protocol';
import { CliError } from './cli-error.js';
import { findFixtureBase } from './fixture-base.js';

export interface PullRequestFlags {
  pr?: PrProviderKind;
  prRemote?: string;
  githubApiUrl?: string;
  githubRepo?: string;
}

/**
 * Where the demo records approval uses: beside the bundles, under the evidence
 * root (`<out-dir>/.pull-request-uses/`), where a run id names one run.
 */
export const PR_LEDGER_DIR = '.pull-request-uses';

function checkUrlFlag(flag: string, value: string, schemes: readonly string[]): void {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliError('PR_OPTION_INVALID', `${flag}: not a valid URL`);
  }
  // The token never goes in a URL: it would reach argv, logs and .git/config.
  if (url.username !== '' || url.password !== '') throw new CliError('PR_OPTION_INVALID', `${flag}: the URL carries credentials; give the token in ${PR_TOKEN_ENV}`);
  if (!schemes.includes(url.protocol)) throw new CliError('PR_OPTION_INVALID', `${flag}: scheme ${url.protocol} is not one of ${schemes.join(', ')}`);
}

/** Checks the flags alone (before any run). @throws {CliError} PR_OPTION_INVALID, PR_TOKEN_MISSING (exit 2). */
export function checkPullRequestFlags(flags: PullRequestFlags, env: NodeJS.ProcessEnv): PrProviderKind {
  const provider = flags.pr ?? 'patch';
  if (flags.prRemote !== undefined) checkUrlFlag('--pr-remote', flags.prRemote, ['http:', 'https:', 'file:', 'ssh:', 'git:']);
  if (flags.githubApiUrl !== undefined) {
    if (provider !== 'github') throw new CliError('PR_OPTION_INVALID', '--github-api-url is for --pr github');
    if (!/^https?:\/\//i.test(flags.githubApiUrl)) throw new CliError('PR_OPTION_INVALID', '--github-api-url: expected an http(s) URL');
    checkUrlFlag('--github-api-url', flags.githubApiUrl, ['http:', 'https:']);
  }
  if (flags.githubRepo !== undefined) {
    if (provider !== 'github') throw new CliError('PR_OPTION_INVALID', '--github-repo is for --pr github');
    if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(flags.githubRepo)) throw new CliError('PR_OPTION_INVALID', '--github-repo: expected owner/name');
  }
  if (provider === 'git-remote' && flags.prRemote === undefined) throw new CliError('PR_OPTION_INVALID', '--pr git-remote needs --pr-remote <url or path>');
  if (provider === 'github' && readPushToken(env) === undefined) throw new CliError('PR_TOKEN_MISSING', `--pr github needs a token in ${PR_TOKEN_ENV}`);
  return provider;
}

/**
 * The config Cloud carries out an approved pull request with. For `patch`
 * without `--pr-remote`, the base is the repository the runtime works from:
 * `--repo`, or for the bundled fixture its checked-in base (fixture-base.ts),
 * or, when the fixture no longer matches it, the fixture made into a
 * repository the way the runtime makes it (same content, same baseline commit id).
 */
export async function buildPullRequestConfig(opts: {
  flags: PullRequestFlags;
  env: NodeJS.ProcessEnv;
  /** The evidence root (`--out-dir`): the use ledger lives in it. */
  outDir: string;
  /** The user's repository (`--repo`), if any. */
  repoDir: string | undefined;
  fixtureDir: string;
  clock: Clock;
}): Promise<{ config: PullRequestConfig; dispose(): Promise<void> }> {
  const provider = checkPullRequestFlags(opts.flags, opts.env);
  const token = readPushToken(opts.env);
  const ledger = openPrUseLedger(join(opts.outDir, PR_LEDGER_DIR));
  let remote = opts.flags.prRemote ?? opts.repoDir;
  let dispose = async (): Promise<void> => undefined;
  if (remote === undefined && provider === 'patch') {
    // The fixture's checked-in base while the fixture is as it was made from; else one made now.
    remote = await findFixtureBase(opts.fixtureDir);
    if (remote === undefined) {
      const base = await prepareWorkspace({ fixtureDir: opts.fixtureDir, clock: opts.clock });
      remote = base.dir;
      dispose = base.dispose;
    }
  }
  const config: PullRequestConfig = {
    provider,
    ledger,
    ...omitUndefined({ remote, githubApiUrl: opts.flags.githubApiUrl, githubRepo: opts.flags.githubRepo, token }),
  };
  return { config, dispose };
}
