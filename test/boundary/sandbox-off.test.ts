import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { formatReplayReport, replayBundle } from '@lumenflow/replay';
import type { NodeSession, ToolCallRecord } from '@lumenflow/protocol';
import { createUnsandboxed } from '@lumenflow/runtime';
import { runChain } from '../../scripts/demo/commands/chain.js';
import { demoChainInputs } from '../support/demo-chain.js';

// The explicit opt-out: the run works, and the Proof says, everywhere it
// matters, that its tool processes had no boundary.
let out: string;
beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'lumenflow-sandbox-off-'));
});
afterAll(async () => {
  await rm(out, { recursive: true, force: true });
});

describe('a runtime that opted out of the sandbox', () => {
  test('records it in node-session.json and every process call, and Replay warns on the verdict line', async () => {
    const result = await runChain(await demoChainInputs({ runId: 'sandbox-off', outDir: out }, { sandbox: createUnsandboxed('turned off for this test') }));
    expect(result.ending).toBe('approved');
    const session = JSON.parse(await readFile(join(result.dir, 'node-session.json'), 'utf8')) as NodeSession;
    expect(session.runtime.sandbox).toEqual({ kind: 'none', reason: 'turned off for this test' });
    const calls = (await readFile(join(result.dir, 'tool-calls.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as ToolCallRecord);
    const processCalls = calls.filter((c) => c.scope.kind === 'shell.exec');
    expect(processCalls.length).toBeGreaterThan(0);
    for (const call of processCalls) expect(call.sandbox).toEqual({ kind: 'none' });
    const report = await replayBundle(result.dir);
    expect(report.verdict).toBe('VALID');
    expect(report.warnings).toEqual([expect.stringContaining('NO SANDBOX')]);
    expect(formatReplayReport(report).split('\n')[0]).toMatch(/^VALID .*⚠ NO SANDBOX/);
  });
});
