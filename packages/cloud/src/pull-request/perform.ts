import { omitUndefined } from '@lumenflow/protocol';
import type { ApprovalRecord, Ask, PullRequestOutput } from '@lumenflow/protocol';
import { sha256Digest } from '../approvals.js';
import { checkPrBinding } from './binding.js';
import { withCredentialHelper } from './credential-helper.js';
import type { PushToken } from './credential-helper.js';
import { DEFAULT_GITHUB_API_URL, checkGithubApiUrl, openGithubPullRequest, parseGithubRepo } from './github-provider.js';
import { renderPatchProviderFiles } from './patch-provider.js';
import { splitPrText } from './pr-text.js';
import { checkRemote, isUrl, pushApprovedCommit } from './push.js';
import { PrStepFailure, fetchBase, prepareApprovedCommit } from './scratch.js';
import type { ApprovedCommit, FetchedBase, NewCommit } from './scratch.js';
import type { PrUseLedger } from './use-ledger.js';
import type { PrCode, PrProviderKind } from './types.js';

/** How the approved pull request is carried out, configured on the side that performs it (Cloud). */
export interface PullRequestConfig {
  provider: PrProviderKind;
  /**
   * git-remote and github: the repository pushed to (URL or path; no credentials in it).
   * patch: where the base commit is read from. github defaults to `https://github.com/<repo>.git`.
   */
  remote?: string;
  /** github: the API base URL (default https://api.github.com). */
  githubApiUrl?: string;
  /** github: `owner/name` (default: the Ask's repository). */
  githubRepo?: string;
  /** The push and API token (GITHUB_TOKEN); never written anywhere but the per-run credential file. */
  token?: PushToken;
  /** Where each approval's single use is recorded. */
  ledger: PrUseLedger;
}

export interface PullRequestStepInput {
  runId: string;
  ask: Ask;
  approval: ApprovalRecord;
  /** file-diff.patch as it will be in the bundle. */
  patch: string;
  /** pr-summary.md as it will be in the bundle. */
  prText: string;
  /** The runtime's baseline commit (its signed evidence.diff message names it). */
  baseCommit: string;
  now: Date;
}

export interface PullRequestStepResult {
  status: 'succeeded' | 'failed';
  output: PullRequestOutput;
  /** Files the provider keeps with the run (the patch provider's), to add to the bundle. */
  files: Record<string, string>;
  /** True when this approval had already been used for this action and its first result is reported. */
  replayed: boolean;
}

const COMMIT_ID = /^[0-9a-f]{40}$/;

/** The identity the pull-request commit is made as. */
export const PR_COMMIT_IDENTITY = { name: 'LumenFlow', email: 'trusted-compute@lumenflow.invalid' } as const;

function remoteOf(config: PullRequestConfig, ask: Ask): string {
  if (config.provider === 'github') {
    const repo = config.githubRepo ?? ask.workspace.repository;
    parseGithubRepo(repo);
    return config.remote ?? `https://github.com/${repo}.git`;
  }
  if (config.remote === undefined) throw new PrStepFailure('PR_CONFIG_INVALID', `the ${config.provider} provider needs --pr-remote (a URL or path holding the base commit)`);
  return config.remote;
}

/**
 * Carries out an approved `pr.create`: checks the binding, records the use,
 * makes the approved commit from the base and the approved patch only, checks
 * that its diff is the approved one, and hands it to the provider. Nothing
 * leaves the machine unless every check holds. Never throws for a refusal or a
 * push or API failure: those are a failed result with a PR_* code.
 */
export async function performPullRequest(config: PullRequestConfig, input: PullRequestStepInput, early?: EarlyBaseFetch): Promise<PullRequestStepResult> {
  const request = input.approval.request;
  const action = request === null ? undefined : request.action;
  // What this run would open, from the run itself: the approval must match it, not supply it.
  const head = prBranchName(input.runId);
  const base: Pick<PullRequestOutput, 'provider' | 'remote' | 'branch' | 'baseCommit' | 'actionHash'> = {
    provider: config.provider,
    remote: config.provider === 'github' ? (config.githubRepo ?? input.ask.workspace.repository) : isUrl(config.remote ?? '') ? describeRemote(config.remote) : input.ask.workspace.repository,
    branch: head,
    baseCommit: COMMIT_ID.test(input.baseCommit) ? input.baseCommit : (action?.baseCommit ?? '0'.repeat(40)),
    actionHash: request?.actionHash ?? `sha256:${'0'.repeat(64)}`,
  };
  const fail = (code: PrCode, message: string, more: Partial<PullRequestOutput> = {}): PullRequestStepResult => ({
    status: 'failed',
    output: { ...base, ...more, code, message: message.slice(0, 2000) },
    files: {},
    replayed: false,
  });
  const text = splitPrText(input.prText);
  if (text === undefined) return fail('PR_TEXT_CHANGED', 'pr-summary.md has no title line');
  if (action === undefined || request === null) return fail('PR_APPROVAL_MISSING', 'no approval was requested for this run');
  if (!COMMIT_ID.test(input.baseCommit)) return fail('PR_BASE_CHANGED', 'the runtime named no base commit for the diff');

  // The binding, first on what Cloud holds, so a refused approval never reaches the network.
  const proposed = { kind: 'pr.create' as const, repository: input.ask.workspace.repository, base: input.ask.workspace.baseBranch, head };
  const candidate = { action: action.baseCommit === undefined ? proposed : { ...proposed, baseCommit: input.baseCommit }, diff: input.patch, prText: input.prText };
  const useKey = `${input.runId}.${request.approvalId}`;
  const prior = await config.ledger.read(useKey);
  const first = checkPrBinding({ approval: input.approval, candidate, now: input.now, use: prior === undefined ? undefined : { approvalId: request.approvalId, actionHash: prior.actionHash } });
  if (first.ok === false) return fail(first.code, first.message);
  if (first.ok === 'used' && prior?.state === 'done' && prior.output !== undefined) {
    return { status: prior.output.code === undefined ? 'succeeded' : 'failed', output: prior.output, files: prior.files ?? {}, replayed: true };
  }

  let remote: string;
  let commit: ApprovedCommit | undefined;
  try {
    remote = checkRemote(remoteOf(config, input.ask));
    if (config.provider === 'github') {
      checkGithubApiUrl(config.githubApiUrl ?? DEFAULT_GITHUB_API_URL);
      if (config.token === undefined) throw new PrStepFailure('PR_CONFIG_INVALID', 'the github provider needs a token in GITHUB_TOKEN');
    }
  } catch (error) {
    return fail(error instanceof PrStepFailure ? error.code : 'PR_INTERNAL', error instanceof Error ? error.message : String(error));
  }
  // A local path is this machine's business, not evidence: the record names the repository instead.
  if (config.provider !== 'github') base.remote = isUrl(remote) ? remote : input.ask.workspace.repository;

  const stamp = { ...PR_COMMIT_IDENTITY, date: input.approval.resolution?.decidedAt ?? input.now.toISOString() };
  const message = [
    text.title,
    '',
    `LumenFlow-Run: ${input.runId}`,
    `LumenFlow-Approval: ${request.approvalId}`,
    `LumenFlow-Action-Hash: ${request.actionHash}`,
    '',
  ].join('\n');
  // The patch provider's files are rendered from the new commit beside its diff; they are used only once every check below passes.
  let rendered: Promise<Record<string, string>> | undefined;
  const renderBeside = (made: NewCommit): void => {
    rendered = renderPatchProviderFiles(made, { remote: base.remote, branch: head, title: text.title });
    rendered.catch(() => undefined);
  };
  return withCredentialHelper(config.token, async (credentialConfig) => {
    try {
      // A fetch started early serves only the source and branch it was started for.
      const fetchedBase = early !== undefined && early.source === remote && early.baseBranch === proposed.base ? early.fetched : undefined;
      commit = await prepareApprovedCommit({
        source: remote,
        baseBranch: proposed.base,
        baseCommit: input.baseCommit,
        patch: input.patch,
        message,
        stamp,
        credentialConfig,
        ...omitUndefined({ fetchedBase, beside: config.provider === 'patch' ? renderBeside : undefined }),
      });
      const made = { headCommit: commit.headCommit, headDiffSha256: sha256Digest(commit.headDiff) };
      // Again on what is about to leave: the diff of the commit itself must be the approved one.
      const second = checkPrBinding({ approval: input.approval, candidate: { ...candidate, diff: commit.headDiff }, now: input.now });
      if (second.ok === false) return fail(second.code, second.message, made);
      // The use is recorded before anything is pushed; a retry after a crash resumes it, never a second one.
      const claimed = await config.ledger.claim(useKey, request.actionHash);
      if (claimed !== undefined && claimed.actionHash !== request.actionHash) return fail('PR_APPROVAL_USED', `approval ${request.approvalId} was already used`, made);
      if (claimed?.state === 'done' && claimed.output !== undefined) return { status: claimed.output.code === undefined ? 'succeeded' : 'failed', output: claimed.output, files: claimed.files ?? {}, replayed: true };

      const result = await carryOut(config, commit, { remote, head, base: proposed.base, title: text.title, body: text.body, ask: input.ask, credentialConfig, rendered });
      const output: PullRequestOutput = { ...base, ...made, ...result.output };
      const done: PullRequestStepResult = { status: output.code === undefined ? 'succeeded' : 'failed', output, files: result.files, replayed: false };
      await config.ledger.complete({ approvalId: useKey, actionHash: request.actionHash, state: 'done', output, files: result.files });
      return done;
    } catch (error) {
      if (error instanceof PrStepFailure) return fail(error.code, error.message, commit === undefined ? {} : { headCommit: commit.headCommit, headDiffSha256: sha256Digest(commit.headDiff) });
      return fail('PR_INTERNAL', error instanceof Error ? error.message : String(error));
    } finally {
      // Nothing reads the scratch repository once it goes.
      await rendered?.catch(() => undefined);
      await commit?.dispose();
    }
  });
}

/** A fetch of a run's base branch from a local source, started while the run goes on. */
export interface EarlyBaseFetch {
  source: string;
  baseBranch: string;
  fetched: Promise<FetchedBase>;
  /** Removes the scratch repository once the fetch has settled, used or not. Safe to call twice. */
  dispose(): Promise<void>;
}

/**
 * Starts the first half of the step, fetching the Ask's base branch into a new
 * scratch repository, while the session runs, when the source is a local
 * repository (the patch provider's or a git-remote path): reading a local
 * repository reaches no network and pushes nothing, so it need not wait for the
 * approval. For a URL (and for github) it returns undefined, and the step fetches
 * only after the binding check, as before. Every check of the step runs as
 * without it (docs/pull-requests.md).
 */
export function startEarlyBaseFetch(config: PullRequestConfig, ask: Ask, baseCommit?: string): EarlyBaseFetch | undefined {
  if (config.provider === 'github' || config.remote === undefined || isUrl(config.remote)) return undefined;
  let source: string;
  try {
    source = checkRemote(config.remote);
  } catch {
    return undefined;
  }
  const baseBranch = ask.workspace.baseBranch;
  const fetched = fetchBase({ source, baseBranch, credentialConfig: [], ...omitUndefined({ baseCommit }) });
  fetched.catch(() => undefined);
  return { source, baseBranch, fetched, dispose: async () => (await fetched.catch(() => undefined))?.dispose() };
}

async function carryOut(
  config: PullRequestConfig,
  commit: ApprovedCommit,
  opts: { remote: string; head: string; base: string; title: string; body: string; ask: Ask; credentialConfig: readonly string[]; rendered: Promise<Record<string, string>> | undefined },
): Promise<{ output: Partial<PullRequestOutput>; files: Record<string, string> }> {
  if (config.provider === 'patch') {
    if (opts.rendered === undefined) throw new PrStepFailure('PR_INTERNAL', 'the patch provider has no files');
    return { output: {}, files: await opts.rendered };
  }
  try {
    await pushApprovedCommit(commit, opts.remote, opts.head, opts.credentialConfig);
  } catch (error) {
    if (error instanceof PrStepFailure) return { output: { code: error.code, message: error.message }, files: {} };
    throw error;
  }
  if (config.provider === 'git-remote') return { output: {}, files: {} };
  const token = config.token;
  if (token === undefined) return { output: { code: 'PR_CONFIG_INVALID', message: 'no token' }, files: {} };
  try {
    const pull = await openGithubPullRequest({
      apiUrl: config.githubApiUrl ?? DEFAULT_GITHUB_API_URL,
      repo: config.githubRepo ?? opts.ask.workspace.repository,
      token,
      base: opts.base,
      head: opts.head,
      title: opts.title,
      body: opts.body,
      draft: opts.ask.pullRequest?.draft ?? false,
      reviewers: opts.ask.pullRequest?.reviewers ?? [],
    });
    return { output: { number: pull.number, url: pull.url, ...(pull.existing ? { existing: true } : {}), ...omitUndefined({ code: pull.failure?.code, message: pull.failure?.message }) }, files: {} };
  } catch (error) {
    if (error instanceof PrStepFailure) return { output: { code: error.code, message: error.message }, files: {} };
    throw error;
  }
}

/** The branch a run's pull request is pushed to: `lumenflow/<run-id>` (run ids are safe ref components). */
export function prBranchName(runId: string): string {
  return `lumenflow/${runId}`;
}

/** A remote as evidence shows it: a URL loses any user and password (which are refused anyway). */
function describeRemote(remote: string | undefined): string {
  if (remote === undefined || remote === '') return '(none)';
  try {
    const url = new URL(remote);
    if (url.username !== '' || url.password !== '') {
      url.username = '';
      url.password = '';
      return url.toString();
    }
  } catch {
    // a path
  }
  return remote.slice(0, 2000);
}
