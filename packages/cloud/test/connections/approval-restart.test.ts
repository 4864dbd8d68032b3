// Restart Cloud while an approval is pending: `cloud serve` and `runtime
// connect` as real processes, the Ask submitted with `cloud ask`, Cloud killed
// (SIGKILL) at its approval gate and started again on the same data directory.
// The pending approval must survive, refuse self-approval, and still end in a
// valid bundle, approved or expired.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseStrictJson, systemClock, ToolCallRecordSchema } from '@lumenflow/protocol';
import { replayBundle } from '@lumenflow/replay';
import { createEnrollToken, listPendingApprovals, readAskOutcome } from '@lumenflow/cloud';
import type { AskOutcome, PendingApproval } from '@lumenflow/cloud';
import { verifyBundle } from '@lumenflow/verifier';
import { fixtureBase } from '../../../../test/support/fixture-base.js';
import { createTempDir } from './helpers.js';

const REPO_ROOT = resolve(import.meta.dirname, '../../../..');
const CLI = ['--import', 'tsx', 'scripts/lumenflow.ts'];
const HAPPY_ASK = join(REPO_ROOT, 'scripts/demo/asks/happy.json');
const children: ChildProcess[] = [];
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

function startServe(dataDir: string, extra: string[] = []): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [...CLI, 'cloud', 'serve', '--data-dir', dataDir, '--port', '0', '--log-level', 'silent', ...extra], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return new Promise((resolveUrl, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /cloud listening on (\S+)/.exec(out);
      if (match?.[1] !== undefined) resolveUrl({ child, url: match[1] });
    });
    child.once('exit', (code) => reject(new Error(`cloud serve exited ${code}: ${err}`)));
  });
}

function startRuntime(url: string, stateDir: string, token: string): ChildProcess {
  const child = spawn(process.execPath, [...CLI, 'runtime', 'connect', '--cloud', url, '--enroll-token', token, '--state-dir', stateDir, '--log-level', 'silent'], { cwd: REPO_ROOT, stdio: 'ignore' });
  children.push(child);
  return child;
}

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [...CLI, ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

async function until<T>(probe: () => Promise<T | undefined>, what: string, limitMs = 60_000): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function killed(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await exited;
}

/** Runs the happy Ask through `cloud serve` until it waits on its approval, then kills Cloud. */
async function pauseAtApproval(dataDir: string, serveArgs: string[] = [], signal: NodeJS.Signals = 'SIGKILL'): Promise<PendingApproval> {
  const first = await startServe(dataDir, serveArgs);
  const { token } = await createEnrollToken({ dataDir, clock: systemClock });
  startRuntime(first.url, await createTempDir('rt'), token);
  const submitted = cli(['cloud', 'ask', '--data-dir', dataDir, HAPPY_ASK]);
  expect(submitted.status, submitted.stderr).toBe(0);
  expect(submitted.stdout.trim()).toBe('ask-calc-add-fix');
  const pending = await until(async () => (await listPendingApprovals(dataDir))[0], 'a pending approval');
  await killed(first.child, signal);
  return pending;
}

// Each case runs the chain through two `cloud serve` processes, a runtime process and
// up to four CLI processes. On the 2-core machine under other sessions' load (load
// average 15-20) one case took 45-75 s, so 60 s was a coin toss; the waits inside
// stay bounded by `until`.
describe('cloud serve restarted while an approval is pending', { timeout: 180_000 }, () => {
  it('reloads it; self-approval is still refused; the answer settles it into a valid bundle', async () => {
    const dataDir = await createTempDir('cloud');
    const pending = await pauseAtApproval(dataDir);
    const approvalId = pending.request.approvalId;
    expect(await readAskOutcome(dataDir, 'ask-calc-add-fix')).toBeUndefined();

    await startServe(dataDir);
    const listed = cli(['cloud', 'approvals', '--data-dir', dataDir]);
    expect(listed.stdout).toContain(approvalId);

    const self = cli(['cloud', 'approve', approvalId, '--data-dir', dataDir, '--approver', pending.request.requestedBy, '--reason', 'looks fine to me']);
    expect(self.status).toBe(2);
    expect(self.stderr).toMatch(/^error APPROVAL_SELF_APPROVAL:/);

    const approved = cli(['cloud', 'approve', approvalId, '--data-dir', dataDir, '--approver', 'reviewer:sam', '--reason', 'diff and tests checked']);
    expect(approved.status, approved.stderr).toBe(0);
    const outcome = await until(() => readAskOutcome(dataDir, 'ask-calc-add-fix'), 'the Ask outcome');
    expect(outcome).toMatchObject({ ok: true, runId: pending.runId, approvalStatus: 'approved' });
    const dir = (outcome as Extract<AskOutcome, { ok: true }>).dir;

    const report = await verifyBundle(dir);
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.valid).toBe(true);
    const approval = JSON.parse(await readFile(join(dir, 'approval.json'), 'utf8')) as { status: string; request: { actionHash: string }; resolution: { approver: string } };
    expect(approval.status).toBe('approved');
    expect(approval.request.actionHash).toBe(pending.request.actionHash);
    expect(approval.resolution.approver).toBe('reviewer:sam');

    // Settled once: it is no longer pending and a second answer has nothing to settle.
    expect(await listPendingApprovals(dataDir)).toEqual([]);
    const again = cli(['cloud', 'approve', approvalId, '--data-dir', dataDir, '--approver', 'reviewer:kim', '--reason', 'late']);
    expect(again.stderr).toMatch(/^error APPROVAL_UNKNOWN:/);
  });

  it('with --pr patch: the restarted Cloud carries out the approved pull-request step from the stored files; the bundle verifies', async () => {
    const dataDir = await createTempDir('cloud');
    const base = await fixtureBase();
    cleanups.push(base.dispose);
    const prArgs = ['--pr', 'patch', '--pr-remote', base.dir];
    const pending = await pauseAtApproval(dataDir, prArgs, 'SIGTERM');
    expect(pending.request.action).toMatchObject({ kind: 'pr.create', head: `lumenflow/${pending.runId}` });
    await startServe(dataDir, prArgs);
    const approved = cli(['cloud', 'approve', pending.request.approvalId, '--data-dir', dataDir, '--approver', 'reviewer:sam', '--reason', 'diff and tests checked']);
    expect(approved.status, approved.stderr).toBe(0);
    const outcome = await until(() => readAskOutcome(dataDir, 'ask-calc-add-fix'), 'the Ask outcome');
    // `approved`, not `pr-failed`: the step ran on the restarted Cloud and succeeded.
    expect(outcome).toMatchObject({ ok: true, runId: pending.runId, approvalStatus: 'approved', ending: 'approved' });
    const dir = (outcome as Extract<AskOutcome, { ok: true }>).dir;

    const report = await verifyBundle(dir);
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.valid).toBe(true);
    // The step's evidence: the open_pull_request call of the approved action, and the patch provider's files.
    const calls = (await readFile(join(dir, 'tool-calls.jsonl'), 'utf8'))
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => ToolCallRecordSchema.parse(parseStrictJson(line)));
    const opened = calls.filter((c) => c.tool === 'open_pull_request');
    expect(opened).toHaveLength(1);
    expect(opened[0]).toMatchObject({ status: 'succeeded', toolCallId: `${pending.request.approvalId}-pr` });
    const patch = await readFile(join(dir, 'pull-request.patch'), 'utf8');
    expect(patch).toContain(`LumenFlow-Approval: ${pending.request.approvalId}`);
    expect(await readFile(join(dir, 'pull-request.txt'), 'utf8')).toContain(`lumenflow/${pending.runId}`);
    // Replay's chain checks, the pull request's binding to the approval among them, hold too.
    const replay = await replayBundle(dir);
    expect(replay.chainChecks.filter((c) => !c.ok)).toEqual([]);
    expect(replay.valid).toBe(true);
  });

  it('stopped with SIGTERM at the gate: no failure is recorded, and the restarted Cloud settles it', async () => {
    const dataDir = await createTempDir('cloud');
    const pending = await pauseAtApproval(dataDir, [], 'SIGTERM');
    expect(await readAskOutcome(dataDir, 'ask-calc-add-fix')).toBeUndefined();
    await startServe(dataDir);
    const answered = cli(['cloud', 'approve', pending.request.approvalId, '--data-dir', dataDir, '--approver', 'reviewer:sam', '--decision', 'rejected', '--reason', 'not this week']);
    expect(answered.status, answered.stderr).toBe(0);
    const outcome = await until(() => readAskOutcome(dataDir, 'ask-calc-add-fix'), 'the Ask outcome');
    expect(outcome).toMatchObject({ ok: true, approvalStatus: 'rejected' });
    expect((await verifyBundle((outcome as Extract<AskOutcome, { ok: true }>).dir)).valid).toBe(true);
  });

  it('still expires: restarted after its expiry, Cloud records it expired in a valid bundle', async () => {
    const dataDir = await createTempDir('cloud');
    const pending = await pauseAtApproval(dataDir, ['--approval-ttl', '1s']);
    await until(async () => (Date.now() > Date.parse(pending.request.expiresAt) ? true : undefined), 'the expiry');
    await startServe(dataDir);
    const outcome = await until(() => readAskOutcome(dataDir, 'ask-calc-add-fix'), 'the Ask outcome');
    expect(outcome).toMatchObject({ ok: true, approvalStatus: 'expired' });
    const dir = (outcome as Extract<AskOutcome, { ok: true }>).dir;
    expect((await verifyBundle(dir)).valid).toBe(true);
    expect((JSON.parse(await readFile(join(dir, 'approval.json'), 'utf8')) as { status: string }).status).toBe('expired');
  });
});
