// The demo CLI starts the runtime's copy of the bundled fixture while it reads
// its inputs (RuntimeOptions.fixtureCopy). The first session on the fixture
// takes that copy; a session that works on something else leaves it, and the
// runtime removes it when idle; a copy that failed is made again at open.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { prepareWorkspace } from '@lumenflow/runtime';
import { createSteppingClock } from '@lumenflow/protocol';
import { verifyBundle } from '@lumenflow/verifier';
import { runChain } from '../scripts/demo/commands/chain.js';
import { REPO_ROOT, TEST_CLOCK_START, demoChainInputs, writeThrowawayKeys } from './support/demo-chain.js';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lumenflow-fixture-copy-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function copyAhead(fixtureDir: string): Promise<Awaited<ReturnType<typeof prepareWorkspace>>> {
  return prepareWorkspace({ fixtureDir, clock: createSteppingClock(new Date(TEST_CLOCK_START)), tmpRoot: work });
}

describe('a copy of the fixture made ahead', () => {
  test('the session takes it: its work happens in that copy, and the copy is removed with the session', async () => {
    const inputs = await demoChainInputs({ runId: 'copy-taken', outDir: join(work, 'out') });
    const copy = await copyAhead(inputs.fixtureDir);
    // A change only this copy holds: the session's diff shows it only if the session worked here.
    await appendFile(join(copy.dir, 'test', 'calc.test.js'), '// made ahead\n');
    const result = await runChain({ ...inputs, fixtureCopy: Promise.resolve(copy) });
    expect(result.ending).toBe('approved');
    expect(await readFile(join(result.dir, 'file-diff.patch'), 'utf8')).toMatch(/\+\+\+ b\/test\/calc\.test\.js\n[\s\S]*\+\/\/ made ahead\n/);
    expect(existsSync(copy.dir)).toBe(false);
    expect((await verifyBundle(result.dir)).valid).toBe(true);
  }, 60_000);

  test('a session on another repository leaves it; the runtime removes it when idle', async () => {
    const inputs = await demoChainInputs({ runId: 'copy-left', outDir: join(work, 'out') });
    const copy = await copyAhead(inputs.fixtureDir);
    const ask = { ...inputs.ask, workspace: { ...inputs.ask.workspace, repository: 'acme/other' } };
    const result = await runChain({ ...inputs, ask, fixtureCopy: Promise.resolve(copy) });
    expect(result.code).toBe('REPOSITORY_NOT_SERVED');
    expect(existsSync(copy.dir)).toBe(false);
  }, 60_000);

  test('a copy that failed is made again at session open: the run goes on as without it', async () => {
    const inputs = await demoChainInputs({ runId: 'copy-failed', outDir: join(work, 'out') });
    const failed = Promise.reject(new Error('the copy made ahead failed'));
    failed.catch(() => undefined);
    const result = await runChain({ ...inputs, fixtureCopy: failed });
    expect(result.ending).toBe('approved');
    expect(await readFile(join(result.dir, 'file-diff.patch'), 'utf8')).not.toContain('made ahead');
    expect((await verifyBundle(result.dir)).valid).toBe(true);
  }, 60_000);
});

describe('the CLI leaves no copy behind', () => {
  // Every temporary directory the run makes (copies, scratch repositories) goes under TMPDIR.
  const runCli = async (name: string, args: string[]): Promise<{ code: number | null; stderr: string; left: string[] }> => {
    const tmp = join(work, `tmp-${name}`);
    await mkdir(tmp);
    const env: NodeJS.ProcessEnv = { ...process.env, ...(await writeThrowawayKeys(work)), TMPDIR: tmp, LUMENFLOW_CLOCK: '', NO_COLOR: '1' };
    delete env['LUMENFLOW_DEMO_FIXTURE'];
    const result = spawnSync(join(REPO_ROOT, 'node_modules/.bin/tsx'), [join(REPO_ROOT, 'scripts/demo/trusted-compute.ts'), ...args], { cwd: REPO_ROOT, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { code: result.status, stderr: result.stderr, left: (await readdir(tmp)).filter((n) => n.startsWith('lumenflow-')) };
  };

  test('after a happy run', async () => {
    const run = await runCli('happy', ['--mode', 'happy', '--out-dir', join(work, 'cli-out'), '--run-id', 'cli-copy']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.left).toEqual([]);
  }, 60_000);

  test('after an input error found while the copies were being made', async () => {
    const run = await runCli('error', ['--mode', 'happy', '--out-dir', join(work, 'cli-out'), '--policy', join(work, 'no-such-rules.yaml')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error RULES_IO/m);
    expect(run.left).toEqual([]);
  }, 60_000);
});
