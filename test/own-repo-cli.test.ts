// Bring your own repository, Ask and agent: the demo CLI as a user runs it,
// on a throwaway git repository that is not the fixture (its own layout and
// test command), with an agent that is its own program written with the SDK.
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { replayBundle } from '@lumenflow/replay';
import { runGit } from '@lumenflow/runtime';
import { verifyBundle } from '@lumenflow/verifier';
import { writeThrowawayKeys } from './support/demo-chain.js';

const ROOT = resolve(import.meta.dirname, '..');
const CLI = join(ROOT, 'scripts/demo/trusted-compute.ts');
const TSX = join(ROOT, 'node_modules/.bin/tsx');

let work: string;
let repo: string;
let env: NodeJS.ProcessEnv;
const AGENT = 'node .agent/agent.cjs {mcpConfig} fix';

const TEST_COMMAND = ['node', '--test', '--test-reporter=tap', 'spec/calc.spec.js'];
const ask = {
  schemaVersion: 1,
  askId: 'ask-widgets-add',
  operator: { id: 'op.sam', displayName: 'Sam' },
  intent: 'Fix add in the widgets calc module; its spec must pass.',
  workspace: { repository: 'acme/widgets', baseBranch: 'trunk' },
  requestedScopes: [
    { kind: 'fs.read', path: 'src/calc.js' },
    { kind: 'fs.write', path: 'src/calc.js' },
    { kind: 'shell.exec', program: 'node', args: TEST_COMMAND.slice(1) },
    { kind: 'pr.create', repository: 'acme/widgets', base: 'trunk' },
  ],
  runtimeLabels: ['node', 'git'],
  createdAt: '2026-11-23T09:00:00.000Z',
  testCommand: TEST_COMMAND,
};
const policy = `version: 1
rules:
  - { id: acme.read, effect: allow, match: { kind: fs.read, path: "{src,spec}/**" }, reason: source and specs }
  - { id: acme.write, effect: allow, match: { kind: fs.write, path: "src/**" }, reason: source }
  - { id: acme.spec, effect: allow, match: { kind: shell.exec, program: node, args: ["--test", "--test-reporter=tap", "spec/calc.spec.js"] }, reason: the spec }
  - { id: acme.diff, effect: allow, match: { kind: shell.exec, program: git, args: ["diff", "--no-color", "--no-ext-diff", "--no-textconv", "--binary", "--full-index", { regex: "[0-9a-f]{40}" }] }, reason: the diff }
  - { id: acme.pr, effect: approval_required, match: { kind: pr.create, repository: acme/widgets, base: trunk }, reason: a person approves }
`;

function runCli(args: string[]): { code: number | null; stderr: string } {
  // A runtime process stamps its records with wall time, so a fixed Cloud clock would put them out of
  // order for Replay: with --runtime process both ends keep wall time.
  const clock = args.includes('--runtime') ? { LUMENFLOW_CLOCK: '' } : {};
  const result = spawnSync(TSX, [CLI, ...args], { cwd: ROOT, env: { ...env, ...clock }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return { code: result.status, stderr: result.stderr };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lumenflow-own-repo-'));
  env = { ...process.env, ...(await writeThrowawayKeys(work)), LUMENFLOW_CLOCK: '2026-11-23T10:00:00.000Z' };
  repo = join(work, 'widgets');
  await mkdir(join(repo, 'src'), { recursive: true });
  await mkdir(join(repo, 'spec'));
  await mkdir(join(repo, '.agent'));
  await writeFile(join(repo, 'src/calc.js'), 'export function add(a, b) {\n  return a - b;\n}\n');
  await writeFile(join(repo, 'spec/calc.spec.js'), "import { test } from 'node:test';\nimport assert from 'node:assert/strict';\nimport { add } from '../src/calc.js';\ntest('add adds', () => assert.equal(add(2, 3), 5));\n");
  await writeFile(join(repo, 'package.json'), '{ "type": "module" }\n');
  await build({ entryPoints: [join(ROOT, 'test/support/mcp-agent.ts')], bundle: true, platform: 'node', format: 'cjs', target: 'node20', outfile: join(repo, '.agent/agent.cjs'), logLevel: 'silent' });
  await runGit(repo, ['init', '--quiet', '--initial-branch=trunk']);
  await runGit(repo, ['add', '--all']);
  await runGit(repo, ['commit', '--quiet', '-m', 'widgets'], new Date('2026-11-20T00:00:00Z'));
  // Work in progress in the user's tree: the runtime must neither see nor touch it.
  await writeFile(join(repo, 'src/calc.js'), 'uncommitted work\n');
  await writeFile(join(work, 'ask.json'), JSON.stringify(ask));
  await writeFile(join(work, 'ask-unknown-agent.json'), JSON.stringify({ ...ask, askId: 'ask-widgets-unknown', agent: 'claude-code' }));
  // A clone whose origin is another repository than the Ask's.
  await runGit(work, ['clone', '--quiet', '--branch', 'trunk', '--', repo, 'other-clone']);
  await runGit(join(work, 'other-clone'), ['remote', 'set-url', 'origin', 'https://github.com/acme/gadgets.git']);
  await writeFile(join(work, 'policy.yaml'), policy);
}, 60_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('--repo, --ask and --agent', () => {
  test("run the chain on the user's repository, on a fresh clone of the base branch, and the bundle replays VALID", async () => {
    const out = join(work, 'out');
    const run = runCli(['--mode', 'happy', '--repo', repo, '--ask', join(work, 'ask.json'), '--policy', join(work, 'policy.yaml'), '--agent', AGENT, '--out-dir', out, '--run-id', 'own-repo', '--log-level', 'silent']);
    expect(run.stderr).toContain('approved');
    expect(run.code).toBe(0);
    const dir = join(out, 'own-repo');
    const patch = await readFile(join(dir, 'file-diff.patch'), 'utf8');
    expect(patch).toContain('-  return a - b;');
    expect(patch).toContain('+  return a + b;');
    expect(patch).not.toContain('uncommitted work');
    const tests = JSON.parse(await readFile(join(dir, 'test-results.json'), 'utf8')) as { command: string[]; counts: { passed: number; failed: number } };
    expect(tests.command).toEqual(TEST_COMMAND);
    expect(tests.counts).toMatchObject({ passed: 1, failed: 0 });
    expect((await verifyBundle(dir)).valid).toBe(true);
    expect((await replayBundle(dir)).verdict).toBe('VALID');
    // The user's working tree is as they left it.
    expect(await readFile(join(repo, 'src/calc.js'), 'utf8')).toBe('uncommitted work\n');
  }, 120_000);

  test("--runtime process: the runtime process works on a fresh checkout of the Ask's base branch, not the user's checked-out branch or uncommitted work", async () => {
    // The user's clone: on a feature branch of their own, with work not yet committed.
    const user = join(work, 'feature-clone');
    await runGit(work, ['clone', '--quiet', '--branch', 'trunk', '--', repo, 'feature-clone']);
    await runGit(user, ['remote', 'set-url', 'origin', 'https://github.com/acme/widgets.git']);
    await runGit(user, ['checkout', '--quiet', '-b', 'feature']);
    await writeFile(join(user, 'src/calc.js'), 'export function add(a, b) {\n  return FEATURE_BRANCH_ONLY;\n}\n');
    await runGit(user, ['-c', 'user.name=u', '-c', 'user.email=u@example.invalid', 'commit', '--quiet', '-am', 'feature work'], new Date('2026-11-21T00:00:00Z'));
    await writeFile(join(user, 'src/calc.js'), 'UNCOMMITTED WORK\n');
    const before = { head: await runGit(user, ['rev-parse', 'HEAD']), status: await runGit(user, ['status', '--porcelain', '--branch']) };
    const base = (await runGit(user, ['rev-parse', 'trunk'])).trim();
    const out = join(work, 'out-process');
    const run = runCli(['--mode', 'happy', '--runtime', 'process', '--repo', user, '--ask', join(work, 'ask.json'), '--policy', join(work, 'policy.yaml'), '--agent', AGENT, '--out-dir', out, '--run-id', 'own-repo-process', '--log-level', 'silent']);
    expect(run.stderr).toContain('approved');
    expect(run.code).toBe(0);
    const dir = join(out, 'own-repo-process');
    const patch = await readFile(join(dir, 'file-diff.patch'), 'utf8');
    expect(patch).toContain('-  return a - b;');
    expect(patch).toContain('+  return a + b;');
    for (const name of await readdir(dir)) {
      const text = await readFile(join(dir, name), 'utf8').catch(() => '');
      expect(text, name).not.toContain('UNCOMMITTED WORK');
      expect(text, name).not.toContain('FEATURE_BRANCH_ONLY');
    }
    // The receipts name the base branch's real commit, not a synthetic baseline of a copy.
    expect(await readFile(join(dir, 'tool-calls.jsonl'), 'utf8')).toContain(base);
    expect(await readFile(join(dir, 'pr-summary.md'), 'utf8')).toContain(base);
    expect((await verifyBundle(dir)).valid).toBe(true);
    // The user's clone is as they left it: same branch, same commit, same uncommitted change.
    expect({ head: await runGit(user, ['rev-parse', 'HEAD']), status: await runGit(user, ['status', '--porcelain', '--branch']) }).toEqual(before);
    expect(await readFile(join(user, 'src/calc.js'), 'utf8')).toBe('UNCOMMITTED WORK\n');
  }, 180_000);

  test.each([
    ['a directory that is not a git repository', () => ['--repo', work, '--ask', join(work, 'ask.json')], 'REPO_NOT_GIT', 'is not a git repository'],
    ['a missing base branch', () => ['--repo', repo, '--ask', join(ROOT, 'scripts/demo/asks/happy.json')], 'BASE_BRANCH_MISSING', 'has no branch main'],
    ['a clone of another repository', () => ['--repo', join(work, 'other-clone'), '--ask', join(work, 'ask.json')], 'REPOSITORY_NOT_SERVED', 'the Ask is for acme/widgets; this runtime serves acme/gadgets'],
    ['a regular file', () => ['--repo', join(work, 'ask.json'), '--ask', join(work, 'ask.json')], 'REPO_NOT_GIT', 'is not a git repository (not a directory)'],
    ['a path that does not exist', () => ['--repo', join(work, 'nowhere'), '--ask', join(work, 'ask.json')], 'REPO_NOT_GIT', 'is not a git repository (no such file or directory)'],
    ['a directory inside a repository', () => ['--repo', join(repo, 'src'), '--ask', join(work, 'ask.json')], 'REPO_NOT_GIT', 'is a directory inside'],
    ['--runtime process, a path that does not exist', () => ['--runtime', 'process', '--repo', join(work, 'nowhere'), '--ask', join(work, 'ask.json')], 'REPO_NOT_GIT', 'is not a git repository (no such file or directory)'],
    ['--runtime process, a directory inside a repository', () => ['--runtime', 'process', '--repo', join(repo, 'src'), '--ask', join(work, 'ask.json')], 'REPO_NOT_GIT', 'is a directory inside'],
  ])('%s: the runtime refuses it, one coded line, exit 4, and a signed bundle that records the refusal', async (what, args, code, why) => {
    const out = join(work, `out-${code}`);
    const runId = `refused-${what.replace(/[^a-z]+/g, '-')}`;
    const run = runCli(['--mode', 'happy', ...args(), '--out-dir', out, '--run-id', runId, '--log-level', 'silent']);
    expect(run.code).toBe(4);
    expect(run.stderr.split('\n').filter((l) => l.startsWith('error '))).toEqual([expect.stringMatching(new RegExp(`^error ${code}: `))]);
    expect(run.stderr).toContain(why);
    const dir = join(out, runId);
    expect((await verifyBundle(dir)).valid).toBe(true);
    const replay = await replayBundle(dir);
    expect(replay.verdict).toBe('VALID');
    expect(replay.timeline.some((e) => e.status === 'deny')).toBe(true);
  }, 60_000);

  test.each([
    ['an Ask for an agent the runtime does not know', 'ask-unknown-agent.json', [], 'AGENT_UNKNOWN', true],
    ['an agent command that is not found', 'ask.json', ['--agent', 'no-such-agent {mcpConfig}'], 'AGENT_NOT_FOUND', false],
    ['an agent that exits before finish', 'ask.json', ['--agent', 'node .agent/agent.cjs {mcpConfig} exit-early'], 'AGENT_NO_FINISH', false],
  ])('%s: one coded line, exit 4, and a signed bundle that records it', async (_what, askFile, extra, code, refusal) => {
    const out = join(work, `out-${code}`);
    const run = runCli(['--mode', 'happy', '--repo', repo, '--ask', join(work, askFile), '--policy', join(work, 'policy.yaml'), ...extra, '--out-dir', out, '--run-id', `bad-${code}`, '--log-level', 'silent']);
    expect(run.code).toBe(4);
    expect(run.stderr.split('\n').filter((l) => l.startsWith('error '))).toEqual([expect.stringMatching(new RegExp(`^error ${code}: `))]);
    const report = await verifyBundle(join(out, `bad-${code}`));
    expect(report.checks.find((c) => c.name === 'signature.valid')?.ok).toBe(true);
    // A refusal is the runtime's signed deny (a valid policy-blocked bundle); an agent that did
    // nothing leaves a signed record of no work, which only the happy-mode rule rejects.
    expect(report.checks.filter((c) => !c.ok).map((c) => c.code)).toEqual(refusal ? [] : ['MODE_RULE_VIOLATED']);
  }, 60_000);

  test('an agent command line that does not split is one line with a stable code, exit 2, and no bundle', async () => {
    const out = join(work, 'out-AGENT_INVALID');
    const run = runCli(['--mode', 'happy', '--repo', repo, '--ask', join(work, 'ask.json'), '--agent', "'open", '--out-dir', out, '--log-level', 'silent']);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error AGENT_INVALID: /)]);
    expect(await readdir(out).catch(() => [])).toEqual([]);
  }, 60_000);
});
