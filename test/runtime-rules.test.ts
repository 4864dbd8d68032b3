import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createRuleSet } from '@lumenflow/policy';
import type { PolicyDecisionRecord, ToolCallRecord } from '@lumenflow/protocol';
import { verifyBundle } from '@lumenflow/verifier';
import { runChain } from '../scripts/demo/commands/chain.js';
import { demoChainInputs } from './support/demo-chain.js';

// The runtime enforces Rules on every step itself: a local deny stops the session
// at that step, the denied call never runs, and the Proof still verifies.
let out: string;
beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'lumenflow-runtime-rules-'));
});
afterAll(async () => {
  await rm(out, { recursive: true, force: true });
});

async function runWithLocalDeny(runId: string, match: Record<string, unknown>) {
  const result = await runChain(
    await demoChainInputs(
      { runId, outDir: out },
      { localRules: createRuleSet({ version: 1, rules: [{ id: 'runtime.test.deny', effect: 'deny', match, reason: 'denied by the test' }] }, 'local-test') },
    ),
  );
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
