import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { createPushToken } from '../../src/pull-request/credential-helper.js';
import { performPullRequest, startEarlyBaseFetch } from '../../src/pull-request/perform.js';
import type { PullRequestConfig, PullRequestStepInput } from '../../src/pull-request/perform.js';
import { openPrUseLedger } from '../../src/pull-request/use-ledger.js';
import { PR_DIFF_FLAGS } from '../../src/pull-request/scratch.js';
import { startFakeGithub } from './fake-github.js';
import type { FakeGithub } from './fake-github.js';
import { startGitHttpServer } from './git-http-server.js';
import type { GitHttpServer } from './git-http-server.js';
import { BODY, DECIDED_AT, PR_TEXT, TITLE, countGitProcesses, findInProcesses, git, makeApproval, makeAsk, makeOrigin } from './fixtures.js';
import type { Origin } from './fixtures.js';

const TOKEN = `ghp_${'T0k3n'.repeat(7)}x`;
const NOW = new Date('2026-11-23T10:06:00.000Z');

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function serve(origin: Origin, token = TOKEN, onPush?: () => void): Promise<GitHttpServer> {
  const server = await startGitHttpServer({ root: origin.root, token, ...(onPush === undefined ? {} : { onPush }) });
  closers.push(() => server.close());
  return server;
}

function ledgerDir(): string {
  return mkdtempSync(join(tmpdir(), 'lf-pr-ledger-'));
}

function input(origin: Origin, overrides: Partial<PullRequestStepInput> = {}): PullRequestStepInput {
  return { runId: 'run-1', ask: makeAsk(), approval: makeApproval(origin), patch: origin.patch, prText: PR_TEXT, baseCommit: origin.baseCommit, now: NOW, ...overrides };
}

function branchOf(origin: Origin, branch = 'lumenflow/run-1'): string | undefined {
  try {
    return execFileSync('git', ['--git-dir', origin.bare, 'rev-parse', '--verify', '--quiet', `refs/heads/${branch}`], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

function pushes(server: GitHttpServer): number {
  return server.attempts.filter((a) => a.method === 'POST' && a.path.endsWith('/git-receive-pack') && a.auth === 'ok').length;
}

describe('git-remote provider: a real push over smart HTTP', () => {
  test('the branch arrives holding exactly the approved commit on the approved base, and the token is in no process', async () => {
    const origin = makeOrigin();
    const seen: { hits: string[]; gits: number } = { hits: [], gits: 0 };
    const server = await serve(origin, TOKEN, () => {
      seen.hits = findInProcesses(TOKEN);
      seen.gits = countGitProcesses();
    });
    const config: PullRequestConfig = { provider: 'git-remote', remote: `${server.url}/acme/calc.git`, token: createPushToken(TOKEN), ledger: openPrUseLedger(ledgerDir()) };
    const result = await performPullRequest(config, input(origin));
    expect(result.status, JSON.stringify(result.output)).toBe('succeeded');
    // The scan ran while git was pushing, and found the token nowhere.
    expect(seen.gits).toBeGreaterThan(0);
    expect(seen.hits).toEqual([]);
    const head = branchOf(origin);
    expect(head).toBe(result.output.headCommit);
    expect(git(origin.bare, ['rev-parse', `${head}^`]).trim()).toBe(origin.baseCommit);
    expect(git(origin.bare, ['rev-list', '--count', `${origin.baseCommit}..${head}`]).trim()).toBe('1');
    expect(git(origin.bare, ['diff', ...PR_DIFF_FLAGS, origin.baseCommit, head ?? ''])).toBe(origin.patch);
    expect(git(origin.bare, ['log', '-1', '--format=%an <%ae> %aI%n%B', head ?? ''])).toContain(`LumenFlow-Action-Hash: ${result.output.actionHash}`);
    expect(result.output).toMatchObject({ provider: 'git-remote', remote: `${server.url}/acme/calc.git`, branch: 'lumenflow/run-1', baseCommit: origin.baseCommit });
    expect(result.output.actionHash).toBe(makeApproval(origin).request?.actionHash);
    expect(JSON.stringify(result)).not.toContain(TOKEN);
    // Git asked without credentials first, then with them.
    expect(server.attempts.some((a) => a.auth === 'none')).toBe(true);
    expect(server.attempts.some((a) => a.auth === 'bad')).toBe(false);
    // No credential file is left behind.
    expect(readdirSync(tmpdir()).filter((d) => d.startsWith('lumenflow-cred-'))).toEqual([]);
  });

  test('a wrong token is refused by the server and recorded as PR_PUSH_AUTH_FAILED; no branch appears', async () => {
    const origin = makeOrigin();
    const server = await serve(origin);
    const config: PullRequestConfig = { provider: 'git-remote', remote: `${server.url}/acme/calc.git`, token: createPushToken('ghp_wrong'), ledger: openPrUseLedger(ledgerDir()) };
    const result = await performPullRequest(config, input(origin));
    expect(result.status).toBe('failed');
    expect(result.output.code).toBe('PR_PUSH_AUTH_FAILED');
    expect(server.attempts.some((a) => a.auth === 'bad')).toBe(true);
    expect(pushes(server)).toBe(0);
    expect(branchOf(origin)).toBeUndefined();
  });

  test('a branch already holding something else is not overwritten: PR_PUSH_REJECTED', async () => {
    const origin = makeOrigin();
    git(origin.bare, ['update-ref', 'refs/heads/lumenflow/run-1', origin.baseCommit]);
    const server = await serve(origin);
    const config: PullRequestConfig = { provider: 'git-remote', remote: `${server.url}/acme/calc.git`, token: createPushToken(TOKEN), ledger: openPrUseLedger(ledgerDir()) };
    const result = await performPullRequest(config, input(origin));
    expect(result.output.code).toBe('PR_PUSH_REJECTED');
    expect(branchOf(origin)).toBe(origin.baseCommit);
  });

  test('a remote that does not answer is PR_REMOTE_UNREACHABLE', async () => {
    const origin = makeOrigin();
    // A listener that hangs up on every connection, held for the whole test: a closed port
    // could be taken meanwhile by another test's server, which would answer.
    const silent = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise<void>((resolve) => silent.close(() => resolve())));
    const { port } = silent.address() as AddressInfo;
    const config: PullRequestConfig = { provider: 'git-remote', remote: `http://127.0.0.1:${port}/acme/calc.git`, token: createPushToken(TOKEN), ledger: openPrUseLedger(ledgerDir()) };
    const result = await performPullRequest(config, input(origin));
    expect(result.output.code).toBe('PR_REMOTE_UNREACHABLE');
  });

  test('a remote URL with credentials in it is refused before anything runs', async () => {
    const origin = makeOrigin();
    const config: PullRequestConfig = { provider: 'git-remote', remote: `http://x:${TOKEN}@127.0.0.1:9/acme/calc.git`, ledger: openPrUseLedger(ledgerDir()) };
    const result = await performPullRequest(config, input(origin));
    expect(result.output.code).toBe('PR_CONFIG_INVALID');
    expect(JSON.stringify(result)).not.toContain(TOKEN);
  });
});

describe('binding: anything but the approved action is refused and nothing is pushed', () => {
  const cases: Array<[string, (o: Origin) => Partial<PullRequestStepInput>, string]> = [
    ['the diff changed after approval', (o) => ({ patch: o.patch.replace('a + b', 'a * b') }), 'PR_DIFF_CHANGED'],
    ['the title changed after approval', () => ({ prText: PR_TEXT.replace(TITLE, 'Something else') }), 'PR_TEXT_CHANGED'],
    ['another base commit', (o) => ({ baseCommit: o.baseCommit.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')) }), 'PR_BASE_CHANGED'],
    ['an expired approval', (o) => ({ approval: makeApproval(o, { status: 'expired' }) }), 'PR_APPROVAL_EXPIRED'],
    ['an approval used after its expiry', () => ({ now: new Date('2026-11-25T00:00:00.000Z') }), 'PR_APPROVAL_EXPIRED'],
    ['a rejected approval', (o) => ({ approval: makeApproval(o, { status: 'rejected' }) }), 'PR_APPROVAL_REJECTED'],
    ['an approval for another run', (o) => ({ approval: makeApproval(o, { runId: 'run-2' }) }), 'PR_ACTION_CHANGED'],
  ];
  for (const [name, change, code] of cases) {
    test(name, async () => {
      const origin = makeOrigin();
      const server = await serve(origin);
      const config: PullRequestConfig = { provider: 'git-remote', remote: `${server.url}/acme/calc.git`, token: createPushToken(TOKEN), ledger: openPrUseLedger(ledgerDir()) };
      const result = await performPullRequest(config, input(origin, change(origin)));
      expect(result.status).toBe('failed');
      expect(result.output.code).toBe(code);
      expect(pushes(server)).toBe(0);
      expect(branchOf(origin)).toBeUndefined();
      expect(readdirSync(origin.bare + '/refs/heads')).toEqual(['main']);
    });
  }

  test('a replayed approval reports its first result and pushes nothing again; used for another action it is refused', async () => {
    const origin = makeOrigin();
    const server = await serve(origin);
    const ledger = openPrUseLedger(ledgerDir());
    const config: PullRequestConfig = { provider: 'git-remote', remote: `${server.url}/acme/calc.git`, token: createPushToken(TOKEN), ledger };
    const first = await performPullRequest(config, input(origin));
    expect(first.status).toBe('succeeded');
    const attempts = server.attempts.length;
    const again = await performPullRequest(config, input(origin));
    expect(again.replayed).toBe(true);
    expect(again.output).toEqual(first.output);
    expect(server.attempts.length).toBe(attempts);
    // The same approval id, bound to another action (other text), finds the use already made.
    const otherText = PR_TEXT.replace(TITLE, 'Another title');
    const reused = await performPullRequest(config, input(origin, { approval: makeApproval(origin, { prText: otherText }), prText: otherText }));
    expect(reused.output.code).toBe('PR_APPROVAL_USED');
    expect(server.attempts.length).toBe(attempts);
  });

  test('after a crash between the claim and the result, a retry resumes: the same commit, no second branch or commit', async () => {
    const origin = makeOrigin();
    const server = await serve(origin);
    const ledger = openPrUseLedger(ledgerDir());
    const approval = makeApproval(origin);
    await ledger.claim(`run-1.${approval.request?.approvalId ?? ''}`, approval.request?.actionHash ?? '');
    const config: PullRequestConfig = { provider: 'git-remote', remote: `${server.url}/acme/calc.git`, token: createPushToken(TOKEN), ledger };
    const result = await performPullRequest(config, input(origin));
    expect(result.status).toBe('succeeded');
    const again = await performPullRequest(config, input(origin));
    expect(again.replayed).toBe(true);
    expect(branchOf(origin)).toBe(result.output.headCommit);
  });
});

describe('patch provider: offline', () => {
  test('format-patch of the approved commit applies with git am to the base and gives the approved diff', async () => {
    const origin = makeOrigin();
    const config: PullRequestConfig = { provider: 'patch', remote: origin.bare, ledger: openPrUseLedger(ledgerDir()) };
    const result = await performPullRequest(config, input(origin));
    expect(result.status, JSON.stringify(result.output)).toBe('succeeded');
    const patch = result.files['pull-request.patch'] ?? '';
    expect(patch).toContain(`From ${result.output.headCommit} `);
    expect(patch).toContain(`Subject: [PATCH] ${TITLE}`);
    expect(patch).toContain('GIT binary patch');
    expect(result.files['pull-request.txt']).toContain(`The following changes since commit ${origin.baseCommit}:`);
    expect(result.files['pull-request.txt']).toContain(`for you to fetch changes up to ${result.output.headCommit}:`);
    const clone = mkdtempSync(join(tmpdir(), 'lf-pr-am-'));
    git(clone, ['clone', '--quiet', origin.bare, '.']);
    git(clone, ['am', '--quiet', '--committer-date-is-author-date'], patch);
    expect(git(clone, ['diff', ...PR_DIFF_FLAGS, origin.baseCommit, 'HEAD'])).toBe(origin.patch);
    expect(branchOf(origin)).toBeUndefined();
  });

  test('a base fetched early gives the same commit and files as the step fetching it; the step leaves no scratch repository', async () => {
    const origin = makeOrigin();
    const config: PullRequestConfig = { provider: 'patch', remote: origin.bare, ledger: openPrUseLedger(ledgerDir()) };
    const early = startEarlyBaseFetch(config, makeAsk());
    expect(early).toBeDefined();
    const scratch = (await early?.fetched)?.dir ?? '';
    expect(existsSync(scratch)).toBe(true);
    const withEarly = await performPullRequest(config, input(origin), early);
    const without = await performPullRequest({ ...config, ledger: openPrUseLedger(ledgerDir()) }, input(origin));
    expect(withEarly.status, JSON.stringify(withEarly.output)).toBe('succeeded');
    expect(withEarly).toEqual(without);
    // The step made its commit in the early repository and removed it.
    expect(existsSync(scratch)).toBe(false);
    await early?.dispose();
  });

  test('a base fetched early still refuses what the binding refuses, and its repository goes with dispose', async () => {
    const origin = makeOrigin();
    const config: PullRequestConfig = { provider: 'patch', remote: origin.bare, ledger: openPrUseLedger(ledgerDir()) };
    const early = startEarlyBaseFetch(config, makeAsk());
    const scratch = (await early?.fetched)?.dir ?? '';
    const result = await performPullRequest(config, input(origin, { patch: `${origin.patch}\n` }), early);
    expect(result.output.code).toBe('PR_DIFF_CHANGED');
    expect(existsSync(scratch)).toBe(true);
    await early?.dispose();
    expect(existsSync(scratch)).toBe(false);
  });

  test('the branch moved on after the early fetch: the base commit is asked for by id, and the commit is the same', async () => {
    const origin = makeOrigin();
    const config: PullRequestConfig = { provider: 'patch', remote: origin.bare, ledger: openPrUseLedger(ledgerDir()) };
    // The early fetch sees a branch that no longer holds the base: main points at a commit beside it.
    const other = git(origin.bare, ['commit-tree', `${origin.baseCommit}^{tree}`, '-m', 'elsewhere']).trim();
    git(origin.bare, ['update-ref', 'refs/heads/keep', origin.baseCommit]);
    git(origin.bare, ['update-ref', 'refs/heads/main', other]);
    const early = startEarlyBaseFetch(config, makeAsk());
    const result = await performPullRequest(config, input(origin), early);
    await early?.dispose();
    const reference = await performPullRequest({ ...config, ledger: openPrUseLedger(ledgerDir()) }, input(origin));
    expect(result.status, JSON.stringify(result.output)).toBe('succeeded');
    expect(result.output.headCommit).toBe(reference.output.headCommit);
  });

  test('a base fetched early with its commit holds that tree in its index; the step gives the same commit as without it', async () => {
    const origin = makeOrigin();
    const config: PullRequestConfig = { provider: 'patch', remote: origin.bare, ledger: openPrUseLedger(ledgerDir()) };
    const early = startEarlyBaseFetch(config, makeAsk(), origin.baseCommit);
    const fetched = await early?.fetched;
    expect(fetched?.indexedCommit).toBe(origin.baseCommit);
    expect(git(fetched?.dir ?? '', ['write-tree']).trim()).toBe(git(origin.bare, ['rev-parse', `${origin.baseCommit}^{tree}`]).trim());
    const withEarly = await performPullRequest(config, input(origin), early);
    const without = await performPullRequest({ ...config, ledger: openPrUseLedger(ledgerDir()) }, input(origin));
    expect(withEarly.status, JSON.stringify(withEarly.output)).toBe('succeeded');
    expect(withEarly).toEqual(without);
    await early?.dispose();
  });

  test('an index read early for another commit is not used: the step reads the approved base again', async () => {
    const origin = makeOrigin();
    const config: PullRequestConfig = { provider: 'patch', remote: origin.bare, ledger: openPrUseLedger(ledgerDir()) };
    // The branch moved on to a commit with another tree; the early fetch indexes that one.
    const scratch = mkdtempSync(join(tmpdir(), 'lf-pr-moved-'));
    git(scratch, ['clone', '--quiet', origin.bare, '.']);
    writeFileSync(join(scratch, 'extra.txt'), 'not in the approved base\n');
    git(scratch, ['add', 'extra.txt']);
    git(scratch, ['-c', 'user.name=t', '-c', 'user.email=t@example.test', 'commit', '--quiet', '-m', 'moved on']);
    git(scratch, ['push', '--quiet', origin.bare, 'main']);
    const moved = git(scratch, ['rev-parse', 'HEAD']).trim();
    const early = startEarlyBaseFetch(config, makeAsk(), moved);
    expect((await early?.fetched)?.indexedCommit).toBe(moved);
    const result = await performPullRequest(config, input(origin), early);
    await early?.dispose();
    const reference = await performPullRequest({ ...config, ledger: openPrUseLedger(ledgerDir()) }, input(origin));
    expect(result.status, JSON.stringify(result.output)).toBe('succeeded');
    expect(result.output.headCommit).toBe(reference.output.headCommit);
    expect(result.files['pull-request.patch']).not.toContain('extra.txt');
  });

  test('nothing is fetched early from a URL, or for github', () => {
    const ledger = openPrUseLedger(ledgerDir());
    expect(startEarlyBaseFetch({ provider: 'git-remote', remote: 'https://git.example.test/acme/calc.git', ledger }, makeAsk())).toBeUndefined();
    expect(startEarlyBaseFetch({ provider: 'patch', remote: 'file:///srv/calc.git', ledger }, makeAsk())).toBeUndefined();
    expect(startEarlyBaseFetch({ provider: 'github', remote: '/srv/calc.git', ledger }, makeAsk())).toBeUndefined();
    expect(startEarlyBaseFetch({ provider: 'patch', ledger }, makeAsk())).toBeUndefined();
  });

  test('without a base source it is PR_CONFIG_INVALID, not a guess', async () => {
    const origin = makeOrigin();
    const result = await performPullRequest({ provider: 'patch', ledger: openPrUseLedger(ledgerDir()) }, input(origin));
    expect(result.output.code).toBe('PR_CONFIG_INVALID');
  });
});

describe('github provider: push, then the REST API through Octokit', () => {
  async function setup(opts: { apiToken?: string; repo?: string; seedPull?: boolean; failStatus?: number; headVisible?: boolean } = {}): Promise<{ origin: Origin; server: GitHttpServer; github: FakeGithub; config: PullRequestConfig }> {
    const origin = makeOrigin();
    const server = await serve(origin);
    const github = await startFakeGithub({ token: opts.apiToken ?? TOKEN, repo: 'acme/calc', branchExists: async (b) => opts.headVisible !== false && branchOf(origin, b) !== undefined, ...(opts.failStatus === undefined ? {} : { failStatus: opts.failStatus }) });
    closers.push(() => github.close());
    if (opts.seedPull === true) github.pulls.push({ number: 7, title: TITLE, body: BODY, head: 'lumenflow/run-1', base: 'main', draft: false, reviewers: [] });
    const config: PullRequestConfig = {
      provider: 'github',
      remote: `${server.url}/acme/calc.git`,
      githubApiUrl: github.url,
      githubRepo: opts.repo ?? 'acme/calc',
      token: createPushToken(TOKEN),
      ledger: openPrUseLedger(ledgerDir()),
    };
    return { origin, server, github, config };
  }
  const ask = makeAsk({ pullRequest: { draft: true, reviewers: ['rev-ana', 'octo-bob'] } });

  test('creates the pull request with the approved title and body from the pushed branch, then requests the reviewers', async () => {
    const { origin, github, config } = await setup();
    const result = await performPullRequest(config, input(origin, { ask }));
    expect(result.status, JSON.stringify(result.output)).toBe('succeeded');
    expect(github.calls.map((c) => `${c.method} ${c.path}`)).toEqual(['POST /repos/acme/calc/pulls', 'POST /repos/acme/calc/pulls/1/requested_reviewers']);
    expect(github.calls.every((c) => c.authorized)).toBe(true);
    expect(github.calls[0]?.body).toEqual({ base: 'main', head: 'lumenflow/run-1', title: TITLE, body: BODY, draft: true });
    expect(github.calls[1]?.body).toEqual({ reviewers: ['rev-ana', 'octo-bob'] });
    expect(branchOf(origin)).toBe(result.output.headCommit);
    expect(result.output).toMatchObject({ provider: 'github', remote: 'acme/calc', number: 1, url: 'https://github.example/acme/calc/pull/1' });
    expect(result.output.existing).toBeUndefined();
    // Used once: a retry reports the same pull request and calls nothing.
    const again = await performPullRequest(config, input(origin, { ask }));
    expect(again.replayed).toBe(true);
    expect(again.output.number).toBe(1);
    expect(github.calls).toHaveLength(2);
    expect(github.pulls).toHaveLength(1);
  });

  test('422 "already exists": the open pull request for the head is found and reported, not duplicated', async () => {
    const { origin, github, config } = await setup({ seedPull: true });
    const result = await performPullRequest(config, input(origin, { ask }));
    expect(result.status).toBe('succeeded');
    expect(github.calls.map((c) => `${c.method} ${c.path}`)).toEqual(['POST /repos/acme/calc/pulls', 'GET /repos/acme/calc/pulls', 'POST /repos/acme/calc/pulls/7/requested_reviewers']);
    expect(github.calls[1]?.query).toMatchObject({ head: 'acme:lumenflow/run-1', base: 'main', state: 'open' });
    expect(result.output).toMatchObject({ number: 7, existing: true });
    expect(github.pulls).toHaveLength(1);
  });

  test('401: a token the API refuses is PR_API_UNAUTHORIZED', async () => {
    const { origin, config, github } = await setup({ apiToken: 'ghp_other' });
    const result = await performPullRequest(config, input(origin));
    expect(result.status).toBe('failed');
    expect(result.output.code).toBe('PR_API_UNAUTHORIZED');
    expect(github.calls.map((c) => c.authorized)).toEqual([false]);
    expect(JSON.stringify(result)).not.toContain(TOKEN);
  });

  test('404: an unknown repository is PR_API_NOT_FOUND', async () => {
    const { origin, config } = await setup({ repo: 'acme/nothing' });
    const result = await performPullRequest(config, input(origin));
    expect(result.output.code).toBe('PR_API_NOT_FOUND');
    expect(result.output.remote).toBe('acme/nothing');
  });

  test('422 otherwise (GitHub does not see the head branch) is PR_API_UNPROCESSABLE', async () => {
    const { origin, config, github } = await setup({ headVisible: false });
    const result = await performPullRequest(config, input(origin));
    expect(result.output.code).toBe('PR_API_UNPROCESSABLE');
    expect(github.calls.map((c) => `${c.method} ${c.path}`)).toEqual(['POST /repos/acme/calc/pulls']);
  });

  test('the API down is PR_API_UNREACHABLE, after the push', async () => {
    const { origin, config, github } = await setup();
    await github.close();
    closers.splice(closers.length - 1, 1);
    const result = await performPullRequest(config, input(origin));
    expect(result.output.code).toBe('PR_API_UNREACHABLE');
    expect(branchOf(origin)).toBe(result.output.headCommit);
  });

  test('the decision date fixes the commit: the same approval gives the same head on another machine', async () => {
    const a = makeOrigin();
    const config: PullRequestConfig = { provider: 'patch', remote: a.bare, ledger: openPrUseLedger(ledgerDir()) };
    const one = await performPullRequest(config, input(a));
    const two = await performPullRequest({ ...config, ledger: openPrUseLedger(ledgerDir()) }, input(a));
    expect(one.output.headCommit).toBe(two.output.headCommit);
    expect(DECIDED_AT).toBe(makeApproval(a).resolution?.decidedAt);
  });
});
