import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseAsk } from '@lumenflow/cloud';
import { createRuleSet, loadRulesFile } from '@lumenflow/policy';
import { createSteppingClock } from '@lumenflow/protocol';
import type { PolicyDecisionRecord, ToolCallRecord } from '@lumenflow/protocol';
import { generateSigningKeyPem, parseSigningKeyPem, verifyBundle } from '@lumenflow/verifier';
import { DEMO_PATHS, runChain } from '../scripts/demo/commands/run.js';

// The runtime enforces Rules on every step itself: a local deny stops the session
// at that step, the denied call never runs, and the Proof still verifies.
const ROOT = resolve(import.meta.dirname, '..');
let out: string;
beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'lumenflow-runtime-rules-'));
});
afterAll(async () => {
  await rm(out, { recursive: true, force: true });
});

async function runWithLocalDeny(runId: string, match: Record<string, unknown>) {
  const askPath = join(ROOT, DEMO_PATHS.asks, 'happy.json');
  const result = await runChain({
    runId,
    ask: parseAsk(await readFile(askPath, 'utf8')),
    cloudRules: await loadRulesFile(join(ROOT, DEMO_PATHS.cloudRules)),
    localRules: createRuleSet({ version: 1, rules: [{ id: 'runtime.test.deny', effect: 'deny', match, reason: 'denied by the test' }] }, 'local-test'),
    fixtureDir: join(ROOT, DEMO_PATHS.fixture),
    outDir: out,
    clock: createSteppingClock(new Date('2026-11-23T10:00:00.000Z')),
    signingKey: parseSigningKeyPem(generateSigningKeyPem()),
    runtimeKey: parseSigningKeyPem(generateSigningKeyPem()),
    host: { hostname: 'h', os: 'linux', arch: 'x64', nodeVersion: 'v20.20.2' },
    approver: async () => ({ approver: 'reviewer.test', decision: 'approved', reason: 'ok' }),
    replayUrl: `http://127.0.0.1:4173/runs/${runId}`,
  });
  const lines = async (name: string) =>
    (await readFile(join(result.dir, name), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as unknown);
  return {
    result,
    decisions: (await lines('policy-decisions.jsonl')) as PolicyDecisionRecord[],
    calls: (await lines('tool-calls.jsonl')) as ToolCallRecord[],
    report: await verifyBundle(result.dir),
  };
}

describe('runtime-local Rules', () => {
  test('a deny on the test command stops the session there: earlier calls ran, the denied one did not', async () => {
    const { result, decisions, calls, report } = await runWithLocalDeny('local-deny-tests', { kind: 'shell.exec', program: 'node' });
    expect(result).toMatchObject({ mode: 'happy', ending: 'runtime-halted', approvalStatus: 'not_requested' });
    expect(calls.map((c) => c.tool)).toEqual(['read_file', 'read_file', 'write_file']);
    const deny = decisions.find((d) => d.effect === 'deny');
    expect(deny).toMatchObject({ evaluatedAt: 'runtime', decidingRuleId: 'runtime.test.deny', toolCallId: 'call_0004' });
    expect(calls.some((c) => c.toolCallId === deny?.toolCallId)).toBe(false);
    for (const call of calls) expect(decisions.find((d) => d.decisionId === call.decisionId)?.effect).toBe('allow');
    expect(report.valid).toBe(true);
  });

  test('a deny on the first call halts before any tool call: a policy-blocked bundle that verifies', async () => {
    const { result, calls, report } = await runWithLocalDeny('local-deny-first', { kind: 'fs.read', path: 'src/**' });
    expect(result).toMatchObject({ mode: 'policy-blocked', ending: 'runtime-halted' });
    expect(calls).toEqual([]);
    expect(report.valid).toBe(true);
  });
});
