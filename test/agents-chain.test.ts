import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { replayBundle } from '@lumenflow/replay';
import type { PolicyDecisionRecord, ToolCallRecord } from '@lumenflow/protocol';
import { verifyBundle } from '@lumenflow/verifier';
import { runChain } from '../scripts/demo/commands/chain.js';
import { demoChainInputs } from './support/demo-chain.js';

// The chain end to end with the scripted agent as an MCP client of the
// runtime's tool server, and a session bounded by what its Ask requested.

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lumenflow-agents-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const lines = async <T>(dir: string, name: string): Promise<T[]> =>
  (await readFile(join(dir, name), 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as T);

describe('the scripted agent over MCP', () => {
  test('does the happy run through the governed tools; the bundle verifies and replays VALID', async () => {
    const result = await runChain(await demoChainInputs({ runId: 'agents-happy', outDir: work }));
    expect(result.ending).toBe('approved');
    const calls = await lines<ToolCallRecord>(result.dir, 'tool-calls.jsonl');
    expect(calls.map((c) => c.tool)).toEqual(['read_file', 'read_file', 'write_file', 'run_tests', 'git_diff']);
    expect((await verifyBundle(result.dir)).valid).toBe(true);
    const report = await replayBundle(result.dir);
    expect(report.verdict).toBe('VALID');
  }, 60_000);

  test('an Ask that requested only reads cannot write: the write is denied by policy.ask.out-of-scope, and Replay shows it', async () => {
    const inputs = await demoChainInputs({ runId: 'agents-reads-only', outDir: work });
    const ask = { ...inputs.ask, requestedScopes: inputs.ask.requestedScopes.filter((s) => s.kind === 'fs.read') };
    const result = await runChain({ ...inputs, ask });
    expect(result.ending).toBe('runtime-halted');
    const decisions = await lines<PolicyDecisionRecord>(result.dir, 'policy-decisions.jsonl');
    const denied = decisions.filter((d) => d.evaluatedAt === 'runtime' && d.effect === 'deny');
    // The Cloud policy alone allows fs.write src/calc.js; the Ask never asked for it.
    expect(denied).toEqual([expect.objectContaining({ decidingRuleId: 'policy.ask.out-of-scope', scope: { kind: 'fs.write', target: 'src/calc.js' } })]);
    const calls = await lines<ToolCallRecord>(result.dir, 'tool-calls.jsonl');
    expect(calls.map((c) => c.tool)).toEqual(['read_file', 'read_file']);
    expect((await verifyBundle(result.dir)).valid).toBe(true);
    const report = await replayBundle(result.dir);
    expect(report.verdict).toBe('VALID');
    expect(report.timeline.some((e) => e.status === 'deny' && e.what.includes('src/calc.js'))).toBe(true);
  }, 60_000);
});

// A refusal at session open is the runtime's decision: signed by the runtime,
// in a bundle Cloud signs, and shown by Replay.
async function expectSignedRefusal(dir: string, ruleId: string, scope: { kind: string; target: string }): Promise<void> {
  const decisions = await lines<PolicyDecisionRecord>(dir, 'policy-decisions.jsonl');
  expect(decisions).toEqual([expect.objectContaining({ evaluatedAt: 'runtime', effect: 'deny', decidingRuleId: ruleId, scope })]);
  expect(await readFile(join(dir, 'tool-calls.jsonl'), 'utf8')).toBe('');
  const report = await verifyBundle(dir);
  expect(report.valid).toBe(true);
  // The one runtime record carries the runtime's own signature.
  expect(report.checks.map((c) => c.detail ?? '')).toContainEqual(expect.stringMatching(/^1 records signed by runtime key sha256:/));
  const replay = await replayBundle(dir);
  expect(replay.verdict).toBe('VALID');
  expect(replay.timeline.some((e) => e.status === 'deny' && e.what.includes(scope.target))).toBe(true);
}

describe('the Ask names the repository', () => {
  test('a runtime refuses an Ask for a repository it does not serve, before anything is copied; the refusal is signed evidence', async () => {
    const inputs = await demoChainInputs({ runId: 'agents-other-repo', outDir: work });
    const ask = { ...inputs.ask, workspace: { ...inputs.ask.workspace, repository: 'acme/other' } };
    const result = await runChain({ ...inputs, ask });
    expect(result).toMatchObject({ ending: 'runtime-failed', mode: 'policy-blocked', code: 'REPOSITORY_NOT_SERVED' });
    expect(result.summary).toContain('REPOSITORY_NOT_SERVED: the Ask is for acme/other; this runtime serves lumenflow-demo/calc');
    await expectSignedRefusal(result.dir, 'policy.runtime.repository-not-served', { kind: 'pr.create', target: 'acme/other@main' });
  }, 60_000);

  test('an Ask for an agent the runtime does not know is refused, and the refusal is signed evidence', async () => {
    const inputs = await demoChainInputs({ runId: 'agents-unknown-agent', outDir: work });
    const result = await runChain({ ...inputs, ask: { ...inputs.ask, agent: 'claude-code' } });
    expect(result).toMatchObject({ ending: 'runtime-failed', code: 'AGENT_UNKNOWN' });
    expect(result.summary).toContain('AGENT_UNKNOWN: the Ask asks for agent claude-code');
    await expectSignedRefusal(result.dir, 'policy.runtime.agent-unknown', { kind: 'shell.exec', target: 'claude-code' });
    const session = JSON.parse(await readFile(join(result.dir, 'node-session.json'), 'utf8')) as { runtime: { sandbox: { kind: string } } };
    expect(session.runtime.sandbox.kind).toBe('bubblewrap');
  }, 60_000);
});

describe("the Ask's own test command", () => {
  test('run_tests runs the command the Ask names, judged like any command, and test-results.json records it', async () => {
    const inputs = await demoChainInputs({ runId: 'agents-test-command', outDir: work });
    const command = ['node', '--test'];
    const requestedScopes = inputs.ask.requestedScopes.map((s) => (s.kind === 'shell.exec' ? { kind: 'shell.exec' as const, program: 'node', args: ['--test'] } : s));
    const result = await runChain({ ...inputs, ask: { ...inputs.ask, testCommand: command, requestedScopes } });
    expect(result.ending).toBe('approved');
    const tests = JSON.parse(await readFile(join(result.dir, 'test-results.json'), 'utf8')) as { command: string[]; counts: { passed: number } };
    expect(tests.command).toEqual(command);
    expect(tests.counts.passed).toBeGreaterThan(0);
    const calls = await lines<ToolCallRecord>(result.dir, 'tool-calls.jsonl');
    expect(calls.find((c) => c.tool === 'run_tests')?.scope).toEqual({ kind: 'shell.exec', target: 'node --test' });
    expect((await replayBundle(result.dir)).verdict).toBe('VALID');
  }, 60_000);
});
