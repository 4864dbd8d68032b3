import { appendFile, cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Approver } from '@lumenflow/cloud';
import { createSteppingClock } from '@lumenflow/protocol';
import type { Clock } from '@lumenflow/protocol';
import { verifyBundle } from '@lumenflow/verifier';
import { DEMO_PATHS, runChain } from '../scripts/demo/commands/chain.js';
import type { ChainInputs } from '../scripts/demo/commands/chain.js';
import { demoChainInputs } from './support/demo-chain.js';

const ROOT = resolve(import.meta.dirname, '..');
let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lumenflow-endings-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function run(runId: string, opts: { fixtureDir?: string; approver?: Approver; clock?: Clock }) {
  const overrides: Partial<ChainInputs> = {};
  if (opts.fixtureDir !== undefined) overrides.fixtureDir = opts.fixtureDir;
  if (opts.approver !== undefined) overrides.approver = opts.approver;
  if (opts.clock !== undefined) overrides.clock = opts.clock;
  return runChain(await demoChainInputs({ runId, outDir: join(work, 'out') }, overrides));
}

describe('how a run can end', () => {
  test('failing tests: no approval is asked for, no PR, and the bundle says why', async () => {
    const fixture = join(work, 'still-failing');
    await cp(join(ROOT, DEMO_PATHS.fixture), fixture, { recursive: true });
    await appendFile(join(fixture, 'test/calc.test.js'), "\ntest('a test the fix does not fix', () => { assert.equal(multiply(2, 2), 5); });\n");
    let asked = false;
    const result = await run('ending-tests-failed', {
      fixtureDir: fixture,
      approver: async () => {
        asked = true;
        return { approver: 'reviewer.test', decision: 'approved', reason: 'ok' };
      },
    });
    expect(asked).toBe(false);
    expect(result).toMatchObject({ mode: 'happy', ending: 'tests-failed', approvalStatus: 'not_requested', toolCalls: 5 });
    const tests = JSON.parse(await readFile(join(result.dir, 'test-results.json'), 'utf8')) as { status: string; exitCode: number; counts: { failed: number } };
    expect(tests).toMatchObject({ status: 'completed', exitCode: 1, counts: { failed: 1 } });
    const approval = JSON.parse(await readFile(join(result.dir, 'approval.json'), 'utf8')) as { notRequestedReason: string };
    expect(approval.notRequestedReason).toMatch(/tests failed/);
    expect(await readFile(join(result.dir, 'pr-summary.md'), 'utf8')).toMatch(/^# No pull request/);
    expect((await verifyBundle(result.dir)).valid).toBe(true);
  });

  test('the requester approving their own request is refused and no bundle is written', async () => {
    await expect(run('ending-self-approval', { approver: async () => ({ approver: 'op.dana', decision: 'approved', reason: 'mine' }) })).rejects.toMatchObject({
      code: 'APPROVAL_SELF_APPROVAL',
    });
  });

  test('an answer after the request expired is recorded as expired, with no resolution and no PR', async () => {
    const stepping = createSteppingClock(new Date('2026-11-23T10:00:00.000Z'));
    let lateByMs = 0;
    const clock = { now: () => new Date(stepping.now().getTime() + lateByMs) };
    const result = await run('ending-expired', {
      clock,
      approver: async (request) => {
        // The approver answers one minute after the request expired.
        lateByMs = Date.parse(request.expiresAt) - Date.parse(request.requestedAt) + 60_000;
        return { approver: 'reviewer.test', decision: 'approved', reason: 'late' };
      },
    });
    expect(result).toMatchObject({ ending: 'expired', approvalStatus: 'expired' });
    const approval = JSON.parse(await readFile(join(result.dir, 'approval.json'), 'utf8')) as { status: string; resolution: unknown; request: unknown };
    expect(approval).toMatchObject({ status: 'expired', resolution: null });
    expect(approval.request).not.toBeNull();
    expect((await verifyBundle(result.dir)).valid).toBe(true);
  });
});
