import { spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { replayBundle } from '@lumenflow/replay';
import { canonicalizeToBytes, computeSha256Digest } from '@lumenflow/protocol';
import type { ToolCallRecord } from '@lumenflow/protocol';
import { verifyBundle } from '@lumenflow/verifier';
import { DEMO_PATHS, runChain } from '../scripts/demo/commands/chain.js';
import { REPO_ROOT, demoChainInputs } from './support/demo-chain.js';

// An agent that is its own program, started in the sandbox from a command
// line, reaching the runtime's tools only through the MCP configuration.

let work: string;
let fixtureDir: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lumenflow-process-agent-'));
  fixtureDir = join(work, 'repo');
  await cp(join(REPO_ROOT, DEMO_PATHS.fixture), fixtureDir, { recursive: true });
  await mkdir(join(fixtureDir, '.agent'));
  await build({ entryPoints: [join(REPO_ROOT, 'test/support/mcp-agent.ts')], bundle: true, platform: 'node', format: 'cjs', target: 'node20', outfile: join(fixtureDir, '.agent/agent.cjs'), logLevel: 'silent' });
}, 60_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const run = async (runId: string, mode: string, sessionMs?: number) => {
  const inputs = await demoChainInputs({ runId, outDir: join(work, 'out') }, { fixtureDir, ...(sessionMs === undefined ? {} : { timeouts: { sessionMs } }) });
  return runChain({ ...inputs, agentCommand: ['node', '.agent/agent.cjs', '{mcpConfig}', mode] });
};

const toolCalls = async (dir: string): Promise<ToolCallRecord[]> =>
  (await readFile(join(dir, 'tool-calls.jsonl'), 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ToolCallRecord);

// A run in which no tool call happened is still written and signed; the
// verifier's happy-mode rule (at least one tool call) is what fails, by design.
async function expectSignedRecordOfNoWork(dir: string): Promise<void> {
  const report = await verifyBundle(dir);
  const failed = report.checks.filter((c) => !c.ok).map((c) => c.code);
  expect(failed).toEqual(['MODE_RULE_VIOLATED']);
  expect(report.checks.find((c) => c.name === 'signature.valid')?.ok).toBe(true);
}

describe('an agent process in the sandbox', () => {
  test('does the work through the governed tools only: its direct write fails, the Ask reaches it, the bundle replays VALID', async () => {
    const result = await run('process-agent-fix', 'write-direct');
    expect(result.ending).toBe('approved');
    const calls = await toolCalls(result.dir);
    // finish took the diff itself: the agent never called git_diff.
    expect(calls.map((c) => c.tool)).toEqual(['read_file', 'write_file', 'run_tests', 'git_diff']);
    const patch = await readFile(join(result.dir, 'file-diff.patch'), 'utf8');
    expect(patch).toContain('+  return a + b;');
    // The workspace is read-only to the agent: its own write failed and left nothing.
    expect(patch).toContain('+// direct write: EROFS');
    expect(patch).toContain('+// network: not tried');
    expect(patch).not.toContain('direct.txt');
    // The Ask's intent reached it as the server's instructions.
    expect(patch).toContain('+// intent: Fix the failing test in calc');
    expect((await verifyBundle(result.dir)).valid).toBe(true);
    expect((await replayBundle(result.dir)).verdict).toBe('VALID');
    // The Proof names the agent: the runtime's name for it, its command line's digest, and what it said at initialize.
    const session = JSON.parse(await readFile(join(result.dir, 'node-session.json'), 'utf8')) as { agent?: unknown };
    expect(session.agent).toEqual({
      name: 'external',
      commandDigest: computeSha256Digest(canonicalizeToBytes(['node', '.agent/agent.cjs', '{mcpConfig}', 'write-direct'])),
      network: 'none',
      client: { name: 'test-process-agent', version: '2.0.0' },
    });
  }, 90_000);

  test('an agent that exits before finish ends the run AGENT_NO_FINISH, in a signed record of no work', async () => {
    const result = await run('process-agent-early', 'exit-early');
    expect(result.ending).toBe('runtime-failed');
    expect(result.summary).toContain('AGENT_NO_FINISH: the agent exited with code 3 before calling finish');
    expect(await toolCalls(result.dir)).toEqual([]);
    await expectSignedRecordOfNoWork(result.dir);
  }, 90_000);

  test('an agent command that is not found ends the run AGENT_NOT_FOUND with the reason', async () => {
    const inputs = await demoChainInputs({ runId: 'process-agent-missing', outDir: join(work, 'out') }, { fixtureDir });
    const result = await runChain({ ...inputs, agentCommand: ['no-such-agent-binary', '{mcpConfig}'] });
    expect(result).toMatchObject({ ending: 'runtime-failed', code: 'AGENT_NOT_FOUND' });
    expect(result.summary).toContain('AGENT_NOT_FOUND: the agent command no-such-agent-binary was not found in the sandbox');
    await expectSignedRecordOfNoWork(result.dir);
  }, 90_000);

  test('an agent that hangs is stopped at the session bound, and the run ends with a signed bundle', async () => {
    const result = await run('process-agent-hang', 'hang', 4000);
    expect(result.ending).toBe('runtime-failed');
    expect(result.summary).toMatch(/SESSION_TIMEOUT/);
    expect((await toolCalls(result.dir)).map((c) => c.tool)).toEqual(['read_file']);
    expect((await verifyBundle(result.dir)).valid).toBe(true);
  }, 90_000);

  test('a hostile agent reading .env is denied by the rule, stopped, and Replay shows the denial', async () => {
    const result = await run('process-agent-env', 'read-env');
    expect(result.ending).toBe('runtime-halted');
    const decisions = (await readFile(join(result.dir, 'policy-decisions.jsonl'), 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { effect: string; decidingRuleId: string; evaluatedAt: string });
    expect(decisions.filter((d) => d.evaluatedAt === 'runtime' && d.effect === 'deny').map((d) => d.decidingRuleId)).toEqual(['org.fs.dotenv.deny-read']);
    expect((await toolCalls(result.dir)).map((c) => c.tool)).toEqual(['read_file']);
    expect((await verifyBundle(result.dir)).valid).toBe(true);
    const report = await replayBundle(result.dir);
    expect(report.verdict).toBe('VALID');
    expect(report.timeline.some((e) => e.status === 'deny' && e.what.includes('.env'))).toBe(true);
  }, 90_000);

  test('a hostile agent calling a tool that does not exist is refused by policy.input.invalid, stopped, and Replay shows the denial', async () => {
    const result = await run('process-agent-unknown-tool', 'unknown-tool');
    expect(result.ending).toBe('runtime-halted');
    expect(result.summary).toContain('unknown tool "delete_repository"');
    const decisions = (await readFile(join(result.dir, 'policy-decisions.jsonl'), 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { effect: string; decidingRuleId: string; evaluatedAt: string; scope: unknown });
    expect(decisions.filter((d) => d.evaluatedAt === 'runtime' && d.effect === 'deny')).toEqual([
      expect.objectContaining({ decidingRuleId: 'policy.input.invalid', scope: { kind: 'shell.exec', target: 'delete_repository (unknown tool)' } }),
    ]);
    expect((await toolCalls(result.dir)).map((c) => c.tool)).toEqual(['read_file']);
    expect((await verifyBundle(result.dir)).valid).toBe(true);
    const report = await replayBundle(result.dir);
    expect(report.verdict).toBe('VALID');
    expect(report.timeline.some((e) => e.status === 'deny' && e.what.includes('delete_repository (unknown tool)'))).toBe(true);
  }, 90_000);

  test('calls sent with finish are refused and counted in the agent record; its self-reported name is stored printable', async () => {
    const result = await run('process-agent-after-finish', 'after-finish');
    expect(result.ending).toBe('approved');
    expect((await toolCalls(result.dir)).map((c) => c.tool)).toEqual(['read_file', 'write_file', 'run_tests', 'git_diff']);
    expect(await readFile(join(result.dir, 'file-diff.patch'), 'utf8')).not.toContain('after finish');
    const session = JSON.parse(await readFile(join(result.dir, 'node-session.json'), 'utf8')) as { agent?: { client?: unknown; callsAfterEnd?: unknown } };
    expect(session.agent?.client).toEqual({ name: 'hostile\ufffdagent\ufffd[31m\ufffd', version: '6.6\ufffd' });
    expect(session.agent?.callsAfterEnd).toBe(2);
    expect((await verifyBundle(result.dir)).valid).toBe(true);
    expect((await replayBundle(result.dir)).verdict).toBe('VALID');
  }, 90_000);

  test('--runtime process honours --agent: the runtime process runs it as agent external, and the bundle verifies', () => {
    const cli = (args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts/demo/trusted-compute.ts'), ...args], {
        cwd: REPO_ROOT,
        env: { ...process.env, LUMENFLOW_DEMO_FIXTURE: fixtureDir, NO_COLOR: '1' },
        encoding: 'utf8',
        timeout: 120_000,
      });
    const out = join(work, 'out-process');
    const run = cli(['--mode', 'happy', '--runtime', 'process', '--agent', 'node .agent/agent.cjs {mcpConfig} fix', '--out-dir', out, '--run-id', 'process-runtime-agent', '--json', '--log-level', 'silent']);
    expect(run.stderr).not.toMatch(/^error /m);
    expect(run.status).toBe(0);
    const bundle = join(out, 'process-runtime-agent');
    return readFile(join(bundle, 'node-session.json'), 'utf8').then(async (text) => {
      const session = JSON.parse(text) as { agent?: unknown };
      expect(session.agent).toEqual({
        name: 'external',
        commandDigest: computeSha256Digest(canonicalizeToBytes(['node', '.agent/agent.cjs', '{mcpConfig}', 'fix'])),
        network: 'none',
        client: { name: 'test-process-agent', version: '2.0.0' },
      });
      expect(await readFile(join(bundle, 'file-diff.patch'), 'utf8')).toContain('+// direct write: not tried');
      expect((await verifyBundle(bundle)).valid).toBe(true);
    });
  }, 150_000);

  test('--runtime process with --agent and a local rules file that already names agent external is one USAGE line', async () => {
    const local = join(work, 'local-external.yaml');
    await writeFile(local, 'version: 1\nrules: []\nagents:\n  external:\n    command: [other]\n');
    const run = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts/demo/trusted-compute.ts'), '--mode', 'happy', '--runtime', 'process', '--agent', 'node x.cjs', '--local-policy', local, '--out-dir', join(work, 'out-process'), '--run-id', 'process-external-twice'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toBe('error USAGE: --agent runs as agent "external", which the local rules file already names; rename that entry or drop --agent\n');
  }, 150_000);

  test('runtime connect --default-agent that the local rules file does not name is one USAGE line, before it connects', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts/lumenflow.ts'), 'runtime', 'connect', '--cloud', 'http://127.0.0.1:9', '--enroll-token', 'lfe_unused', '--state-dir', join(work, 'rt-state'), '--default-agent', 'nobody'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^error USAGE: --default-agent nobody: not an agent of --local-policy \(known: scripted-calc-fixer\)\n$/);
  }, 90_000);
});
