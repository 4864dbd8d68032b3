// The whole chain with a real pull request: the demo's Ask on the calc fixture,
// Cloud pushing the approved commit to a git http-backend server and opening the
// pull request on a strict fake of GitHub's REST API. The bundle verifies, Replay's
// PULL_REQUEST_BINDING holds, and the token appears in no bundle file, log or process.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { createPushToken, openPrUseLedger } from '@lumenflow/cloud';
import type { PullRequestConfig } from '@lumenflow/cloud';
import { parseStrictJson, ToolCallRecordSchema } from '@lumenflow/protocol';
import { replayBundle } from '@lumenflow/replay';
import { prepareWorkspace } from '@lumenflow/runtime';
import { createSteppingClock } from '@lumenflow/protocol';
import { verifyBundle, writeBundle, parseSigningKeyPem, generateSigningKeyPem } from '@lumenflow/verifier';
import { runChain } from '../scripts/demo/commands/chain.js';
import { startFakeGithub } from '../packages/cloud/test/pull-request/fake-github.js';
import { startGitHttpServer } from '../packages/cloud/test/pull-request/git-http-server.js';
import { demoChainInputs, REPO_ROOT } from './support/demo-chain.js';

const TOKEN = `ghp_${'Ch41n'.repeat(7)}q`;
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** A bare `lumenflow-demo/calc` holding the fixture's baseline on main, served over smart HTTP. */
async function serveFixtureOrigin(): Promise<{ root: string; bare: string; url: string }> {
  const root = mkdtempSync(join(tmpdir(), 'lf-chain-origin-'));
  const bare = join(root, 'lumenflow-demo', 'calc.git');
  mkdirSync(bare, { recursive: true });
  execFileSync('git', ['init', '--quiet', '--bare', '--initial-branch=main'], { cwd: bare });
  const base = await prepareWorkspace({ fixtureDir: join(REPO_ROOT, 'scripts/demo/fixtures/calc'), clock: createSteppingClock(new Date()) });
  execFileSync('git', ['push', '--quiet', bare, 'main'], { cwd: base.dir, env: { PATH: process.env['PATH'] ?? '', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' } });
  await base.dispose();
  const server = await startGitHttpServer({ root, token: TOKEN });
  closers.push(() => server.close());
  return { root, bare, url: `${server.url}/lumenflow-demo/calc.git` };
}

function branchHead(bare: string, branch: string): string | undefined {
  try {
    return execFileSync('git', ['--git-dir', bare, 'rev-parse', '--verify', '--quiet', `refs/heads/${branch}`], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

function everyFile(dir: string): string {
  return readdirSync(dir).map((name) => readFileSync(join(dir, name), 'utf8')).join('\n');
}

describe('the chain opens the approved pull request', () => {
  test('github: pushed, opened with the approved title and body; the bundle verifies and Replay binds the PR to the approval', async () => {
    const origin = await serveFixtureOrigin();
    const github = await startFakeGithub({ token: TOKEN, repo: 'lumenflow-demo/calc', branchExists: async (b) => branchHead(origin.bare, b) !== undefined });
    closers.push(() => github.close());
    const outDir = mkdtempSync(join(tmpdir(), 'lf-chain-out-'));
    const events: string[] = [];
    const pullRequest: PullRequestConfig = { provider: 'github', remote: origin.url, githubApiUrl: github.url, token: createPushToken(TOKEN), ledger: openPrUseLedger(join(outDir, '.uses')) };
    const result = await runChain(await demoChainInputs({ runId: 'pr-github', outDir }, { pullRequest, log: (event, fields) => events.push(JSON.stringify({ event, fields })) }));
    expect(result.ending, result.summary).toBe('approved');
    expect(result.pullRequest).toMatchObject({ provider: 'github', number: 1, branch: 'lumenflow/pr-github' });

    const prText = readFileSync(join(result.dir, 'pr-summary.md'), 'utf8');
    const [titleLine, , ...rest] = prText.split('\n');
    expect(github.calls.map((c) => `${c.method} ${c.path}`)).toEqual(['POST /repos/lumenflow-demo/calc/pulls']);
    expect(github.calls[0]?.body).toEqual({ base: 'main', head: 'lumenflow/pr-github', title: titleLine?.slice(2), body: rest.join('\n'), draft: false });
    // The agent's finish title is the approved title.
    expect(titleLine).toBe('# Fix add in calc');

    const head = branchHead(origin.bare, 'lumenflow/pr-github');
    expect(head).toBe(result.pullRequest?.headCommit);
    const pushedDiff = execFileSync('git', ['--git-dir', origin.bare, 'diff', '--no-color', '--no-ext-diff', '--no-textconv', '--binary', '--full-index', `${head}^`, head ?? ''], { encoding: 'utf8' });
    expect(pushedDiff).toBe(readFileSync(join(result.dir, 'file-diff.patch'), 'utf8'));

    expect((await verifyBundle(result.dir)).valid).toBe(true);
    const replay = await replayBundle(result.dir);
    expect(replay.valid, JSON.stringify(replay.chainChecks.filter((c) => !c.ok))).toBe(true);
    expect(everyFile(result.dir)).not.toContain(TOKEN);
    expect(events.join('\n')).not.toContain(TOKEN);
    expect(JSON.stringify(replay)).not.toContain(TOKEN);
  });

  test('a refused API call (401) is a failed tool call with its code; the run ends pr-failed and the bundle is signed and valid', async () => {
    const origin = await serveFixtureOrigin();
    const github = await startFakeGithub({ token: 'ghp_another', repo: 'lumenflow-demo/calc', branchExists: async () => true });
    closers.push(() => github.close());
    const outDir = mkdtempSync(join(tmpdir(), 'lf-chain-out-'));
    const pullRequest: PullRequestConfig = { provider: 'github', remote: origin.url, githubApiUrl: github.url, token: createPushToken(TOKEN), ledger: openPrUseLedger(join(outDir, '.uses')) };
    const result = await runChain(await demoChainInputs({ runId: 'pr-401', outDir }, { pullRequest }));
    expect(result.ending).toBe('pr-failed');
    expect(result.pullRequest?.code).toBe('PR_API_UNAUTHORIZED');
    const calls = readFileSync(join(result.dir, 'tool-calls.jsonl'), 'utf8').trim().split('\n').map((l) => ToolCallRecordSchema.parse(parseStrictJson(l)));
    expect(calls.at(-1)).toMatchObject({ tool: 'open_pull_request', status: 'failed', pullRequest: { code: 'PR_API_UNAUTHORIZED' } });
    expect((await verifyBundle(result.dir)).valid).toBe(true);
    expect((await replayBundle(result.dir)).valid).toBe(true);
    expect(everyFile(result.dir)).not.toContain(TOKEN);
  });

  test("Replay refuses a pull-request record whose pushed diff or actionHash is not the approved one, even re-signed", async () => {
    const origin = await serveFixtureOrigin();
    const outDir = mkdtempSync(join(tmpdir(), 'lf-chain-out-'));
    const signingKey = parseSigningKeyPem(generateSigningKeyPem());
    const pullRequest: PullRequestConfig = { provider: 'git-remote', remote: origin.url, token: createPushToken(TOKEN), ledger: openPrUseLedger(join(outDir, '.uses')) };
    const result = await runChain(await demoChainInputs({ runId: 'pr-remote', outDir }, { pullRequest, signingKey }));
    expect(result.ending, result.summary).toBe('approved');
    expect((await replayBundle(result.dir)).valid).toBe(true);
    const names = readdirSync(result.dir).filter((n) => !['manifest.json', 'manifest.sig', 'manifest.dsse.json', 'verifier-public-key.pem'].includes(n));
    const files = Object.fromEntries(names.map((n) => [n, readFileSync(join(result.dir, n), 'utf8')]));
    for (const [field, value] of [['headDiffSha256', `sha256:${'ab'.repeat(32)}`], ['actionHash', `sha256:${'cd'.repeat(32)}`]] as const) {
      const lines = (files['tool-calls.jsonl'] ?? '').trim().split('\n');
      const last = JSON.parse(lines.at(-1) ?? '{}') as { pullRequest: Record<string, string> };
      last.pullRequest[field] = value;
      lines[lines.length - 1] = JSON.stringify(last);
      const forged = mkdtempSync(join(tmpdir(), 'lf-chain-forged-'));
      const written = await writeBundle({ outDir: forged, runId: 'pr-remote', mode: 'happy', createdAt: new Date().toISOString(), artifacts: { ...files, 'tool-calls.jsonl': `${lines.join('\n')}\n` }, signingKey });
      const replay = await replayBundle(written.dir);
      expect(replay.valid).toBe(false);
      expect(replay.chainChecks.find((c) => c.code === 'PULL_REQUEST_BINDING')?.ok, field).toBe(false);
    }
    writeFileSync(join(outDir, 'done'), '');
  });
});

describe('pnpm demo:trusted-compute --pr', () => {
  test('a remote that is down: the run ends not as intended (exit 4), the bundle is still written, signed and valid', async () => {
    const { spawnSync } = await import('node:child_process');
    const outDir = mkdtempSync(join(tmpdir(), 'lf-cli-pr-'));
    const keyDir = mkdtempSync(join(tmpdir(), 'lf-cli-keys-'));
    const signer = join(keyDir, 'signer.pem');
    writeFileSync(signer, generateSigningKeyPem(), { mode: 0o600 });
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(REPO_ROOT, 'scripts/demo/trusted-compute.ts'), '--mode', 'happy', '--pr', 'git-remote', '--pr-remote', 'http://127.0.0.1:9/lumenflow-demo/calc.git', '--out-dir', outDir, '--run-id', 'cli-down', '--json', '--log-level', 'silent'],
      { cwd: REPO_ROOT, env: { ...process.env, LUMENFLOW_SIGNING_KEY: signer, GITHUB_TOKEN: TOKEN, LUMENFLOW_CLOCK: '' }, encoding: 'utf8', timeout: 120_000 },
    );
    expect(run.status, run.stderr).toBe(4);
    const summary = JSON.parse(run.stdout) as { ending: string; pullRequest: { code: string } };
    expect(summary.ending).toBe('pr-failed');
    expect(summary.pullRequest.code).toBe('PR_REMOTE_UNREACHABLE');
    expect((await verifyBundle(join(outDir, 'cli-down'))).valid).toBe(true);
    expect(everyFile(join(outDir, 'cli-down'))).not.toContain(TOKEN);
    expect(readFileSync(join(outDir, 'cli-down.log'), 'utf8')).not.toContain(TOKEN);
    expect(run.stderr + run.stdout).not.toContain(TOKEN);
  });
});
