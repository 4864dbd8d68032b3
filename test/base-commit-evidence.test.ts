// The bundle names the base commit the runtime checked out even when the run
// ended before any diff: the runtime's signed acceptance of the session is kept
// as a receipt in node-session.json (docs/bundle-v1.md).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseRules } from '@lumenflow/policy';
import { createSteppingClock } from '@lumenflow/protocol';
import type { NodeSession } from '@lumenflow/protocol';
import { prepareWorkspace } from '@lumenflow/runtime';
import { verifyBundle } from '@lumenflow/verifier';
import { DEMO_PATHS, runChain } from '../scripts/demo/commands/chain.js';
import { REPO_ROOT, demoChainInputs } from './support/demo-chain.js';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lumenflow-base-commit-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function acceptedAt(dir: string): Promise<{ accepted: string | undefined; diff: string | undefined }> {
  const session = JSON.parse(await readFile(join(dir, 'node-session.json'), 'utf8')) as NodeSession;
  const base = (type: string): string | undefined => session.runtimeEvidence.receipts.find((r) => r.type === type)?.baselineCommit;
  return { accepted: base('session.accepted'), diff: base('evidence.diff') };
}

describe('the base commit in the evidence', () => {
  test('a completed run: the acceptance and the diff name the same base, and the bundle verifies', async () => {
    const result = await runChain(await demoChainInputs({ runId: 'base-completed', outDir: join(work, 'out') }));
    const bases = await acceptedAt(result.dir);
    expect(bases.accepted).toMatch(/^[0-9a-f]{40}$/);
    expect(bases.diff).toBe(bases.accepted);
    expect((await verifyBundle(result.dir)).valid).toBe(true);
  }, 60_000);

  test('a run halted before any diff still names its base commit, signed by the runtime', async () => {
    const localText = await readFile(join(REPO_ROOT, DEMO_PATHS.localRules), 'utf8');
    const denyWrite = localText.replace('rules:\n', 'rules:\n  - id: test.deny-calc-write\n    effect: deny\n    match: { kind: fs.write, path: "src/calc.js" }\n    reason: not in this test\n');
    const localRules = parseRules(denyWrite, { fileName: 'runtime-local.yaml', local: true });
    const result = await runChain(await demoChainInputs({ runId: 'base-halted', outDir: join(work, 'out') }, { localRules }));
    expect(result.code).toBe('POLICY_DENIED');
    expect(await readFile(join(result.dir, 'file-diff.patch'), 'utf8')).toBe('');
    const bases = await acceptedAt(result.dir);
    expect(bases.diff).toBeUndefined();
    // The fixture's baseline: its content committed with the runtime's fixed identity and date.
    const baseline = await prepareWorkspace({ fixtureDir: join(REPO_ROOT, DEMO_PATHS.fixture), clock: createSteppingClock(new Date(0)) });
    await baseline.dispose();
    expect(bases.accepted).toBe(baseline.baselineCommit);
    const report = await verifyBundle(result.dir);
    expect(report.checks.find((c) => c.name === 'runtime.receipts')).toMatchObject({ ok: true });
  }, 60_000);
});
