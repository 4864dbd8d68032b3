import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { omitUndefined } from '@lumenflow/protocol';
import { buildCloudGitEnv, runCloudGit } from './git.js';
import type { CommitStamp, GitResult } from './git.js';
import type { PrCode } from './types.js';

/** The one flag set both sides diff with: the runtime's git_diff and Cloud's check of the commit it pushes. */
export const PR_DIFF_FLAGS: readonly string[] = Object.freeze(['--no-color', '--no-ext-diff', '--no-textconv', '--binary', '--full-index']);

/** A failure of the scratch work, with the code the step records. */
export class PrStepFailure extends Error {
  constructor(
    readonly code: PrCode,
    message: string,
  ) {
    super(message);
  }
}

/** A scratch repository holding the approved commit, made from the base and the approved patch only. */
export interface ApprovedCommit {
  dir: string;
  env: NodeJS.ProcessEnv;
  baseCommit: string;
  headCommit: string;
  /** `git diff --binary <base> <head>`: what the pushed head changes, to compare with the approved patch. */
  headDiff: string;
  dispose(): Promise<void>;
}

/** The new commit and where it lives, before its diff is taken. */
export type NewCommit = Omit<ApprovedCommit, 'headDiff' | 'dispose'>;

function firstLine(result: GitResult): string {
  return (result.stderr.trim().split('\n').find((l) => l.trim() !== '') ?? `exit ${result.exitCode}`).slice(0, 300);
}

/** A new bare scratch repository holding what `git fetch` of the base branch from a source gave. */
export interface FetchedBase {
  dir: string;
  /** The fetch of `refs/heads/<baseBranch>` (it may have failed: the commit itself is asked for next). */
  fetched: GitResult;
  /** The commit whose tree the scratch index holds, when the fetch brought the commit it was asked to read. */
  indexedCommit?: string;
  dispose(): Promise<void>;
}

/**
 * Makes a bare scratch repository and fetches the base branch from `source`
 * into it. The first half of {@link prepareApprovedCommit}; Cloud may start it
 * early for a local source (docs/pull-requests.md), never for a URL.
 *
 * @throws {PrStepFailure} PR_INTERNAL when the repository cannot be made.
 */
export async function fetchBase(opts: { source: string; baseBranch: string; credentialConfig: readonly string[]; baseCommit?: string }): Promise<FetchedBase> {
  const dir = await mkdtemp(join(tmpdir(), 'lumenflow-pr-'));
  const dispose = (): Promise<void> => rm(dir, { recursive: true, force: true });
  const env = buildCloudGitEnv(dir);
  try {
    const init = await runCloudGit(['init', '--quiet', '--bare'], { cwd: dir, env });
    if (init.exitCode !== 0) throw new PrStepFailure('PR_INTERNAL', `git init: ${firstLine(init)}`);
    const fetched = await runCloudGit([...opts.credentialConfig, 'fetch', '--quiet', '--no-tags', '--', opts.source, `refs/heads/${opts.baseBranch}`], { cwd: dir, env });
    // The base's tree into the index now, so the step after approval starts from it; it fails unless the fetch brought that commit.
    const indexed = opts.baseCommit !== undefined && fetched.exitCode === 0 && (await runCloudGit(['read-tree', `${opts.baseCommit}^{commit}`], { cwd: dir, env })).exitCode === 0;
    return { dir, fetched, ...(indexed ? { indexedCommit: opts.baseCommit } : {}), dispose };
  } catch (error) {
    await dispose();
    throw error instanceof PrStepFailure ? error : new PrStepFailure('PR_INTERNAL', error instanceof Error ? error.message : String(error));
  }
}

/**
 * Fetches `baseCommit` from `source` (the remote, or a local repository), then
 * applies exactly `patch` to its tree in the index (no working tree, so no
 * checkout filters run) and commits the result on top of the base with a fixed
 * identity and date. The commit id is a function of the base, the patch, the
 * message and the stamp, so a retry makes the same commit. `fetchedBase`, when
 * given, is {@link fetchBase} of the same source and branch, already started;
 * the commit is then made in it, and disposing the commit disposes it.
 *
 * @throws {PrStepFailure} PR_BASE_UNAVAILABLE, PR_REMOTE_UNREACHABLE, PR_PUSH_AUTH_FAILED, PR_PATCH_DOES_NOT_APPLY, PR_INTERNAL.
 */
export async function prepareApprovedCommit(opts: {
  source: string;
  baseBranch: string;
  baseCommit: string;
  patch: string;
  message: string;
  stamp: CommitStamp;
  credentialConfig: readonly string[];
  fetchedBase?: Promise<FetchedBase>;
  /** Work on the new commit that runs beside its `git diff` (the patch provider's files); its failure is left to its caller. */
  beside?: (commit: NewCommit) => void;
}): Promise<ApprovedCommit> {
  const { dir, fetched, indexedCommit, dispose } = await (opts.fetchedBase ?? fetchBase(opts));
  const env = buildCloudGitEnv(dir, opts.stamp);
  const git = (args: readonly string[], input?: string): Promise<GitResult> => runCloudGit(args, { cwd: dir, env, ...omitUndefined({ input }) });
  try {
    const must = async (args: readonly string[], code: PrCode, input?: string): Promise<string> => {
      const result = await git(args, input);
      if (result.exitCode !== 0) throw new PrStepFailure(code, `git ${args[0] ?? ''}: ${firstLine(result)}`);
      return result.stdout;
    };
    // The base's tree into the index (unless the fetch already put exactly it there); it fails, as the
    // presence check below does, unless the base is a commit here.
    const base = `${opts.baseCommit}^{commit}`;
    if (indexedCommit !== opts.baseCommit && (await git(['read-tree', base])).exitCode !== 0) {
      // The base branch may have moved on without it, or not exist: ask for the commit itself.
      const direct = await git([...opts.credentialConfig, 'fetch', '--quiet', '--no-tags', '--', opts.source, opts.baseCommit]);
      if ((await git(['cat-file', '-e', base])).exitCode !== 0) throw classifyFetchFailure(fetched.exitCode !== 0 ? fetched : direct, opts.baseCommit);
      await must(['read-tree', base], 'PR_INTERNAL');
    }
    const applied = await git(['apply', '--cached', '--binary', '--whitespace=nowarn', '-'], opts.patch);
    if (applied.exitCode !== 0) throw new PrStepFailure('PR_PATCH_DOES_NOT_APPLY', `the approved patch does not apply on ${opts.baseCommit}: ${firstLine(applied)}`);
    const tree = (await must(['write-tree'], 'PR_INTERNAL')).trim();
    const headCommit = (await must(['commit-tree', tree, '-p', opts.baseCommit, '-F', '-'], 'PR_INTERNAL', opts.message)).trim();
    opts.beside?.({ dir, env, baseCommit: opts.baseCommit, headCommit });
    const headDiff = await must(['diff', ...PR_DIFF_FLAGS, opts.baseCommit, headCommit], 'PR_INTERNAL');
    return { dir, env, baseCommit: opts.baseCommit, headCommit, headDiff, dispose };
  } catch (error) {
    await dispose();
    throw error instanceof PrStepFailure ? error : new PrStepFailure('PR_INTERNAL', error instanceof Error ? error.message : String(error));
  }
}

/** Names a failed push or fetch by what git said: authentication, unreachable, or rejected. */
export function classifyGitFailure(result: GitResult, otherwise: PrCode): PrStepFailure {
  const text = result.stderr;
  if (/Authentication failed|could not read Username|terminal prompts disabled|401|403/i.test(text)) {
    return new PrStepFailure('PR_PUSH_AUTH_FAILED', `authentication failed: ${firstLine(result)}`);
  }
  if (/Could not resolve host|Failed to connect|Connection refused|Couldn't connect|timed out|unable to access|does not appear to be a git repository|Could not read from remote/i.test(text)) {
    return new PrStepFailure('PR_REMOTE_UNREACHABLE', `the remote is unreachable: ${firstLine(result)}`);
  }
  return new PrStepFailure(otherwise, firstLine(result));
}

function classifyFetchFailure(result: GitResult, baseCommit: string): PrStepFailure {
  const failure = classifyGitFailure(result, 'PR_BASE_UNAVAILABLE');
  return failure.code === 'PR_BASE_UNAVAILABLE' || result.exitCode === 0 ? new PrStepFailure('PR_BASE_UNAVAILABLE', `the remote has no commit ${baseCommit}`) : failure;
}
