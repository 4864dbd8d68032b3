import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CloudError, createCloud } from '@lumenflow/cloud';
import { loadRulesFile } from '@lumenflow/policy';
import { createSequentialIds, createSteppingClock } from '@lumenflow/protocol';
import type { CloudEndpoint, RuntimeEndpoint } from '@lumenflow/protocol';
import { RuntimeError, createRuntime } from '@lumenflow/runtime';
import { generateSigningKeyPem, parseSigningKeyPem, verifyBundle } from '@lumenflow/verifier';
import { DEMO_PATHS, runChain } from '../scripts/demo/commands/chain.js';
import type { ChainTimeouts } from '../scripts/demo/timeouts.js';
import { demoChainInputs } from './support/demo-chain.js';
import { runChainOverConnections } from '../scripts/demo/commands/process-runtime.js';

// Before these bounds, a runtime that went silent, a test suite that hung, or
// an enrollment Cloud refused (it sends no reply) held the run for ever; only
// Ctrl-C ended it, and then without a bundle. Now each ends with a code and,
// once a session has started, with a signed bundle that verifies.
const ROOT = resolve(import.meta.dirname, '..');
const at = new Date('2026-11-23T10:00:00.000Z');
const HANG_FILE = `hang-${process.pid}.test.js`;

/** Host processes whose command line names the hanging suite. */
function hangingProcesses(): string[] {
  const ps = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return ps.stdout.split('\n').filter((line) => line.includes(HANG_FILE));
}
let work: string;
let hanging: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lumenflow-timeouts-'));
  hanging = join(work, 'hanging-fixture');
  await cp(join(ROOT, DEMO_PATHS.fixture), hanging, { recursive: true });
  // A suite that never finishes: the interval keeps the test process alive.
  // It runs in the sandbox (its own PID namespace, nothing writable outside the
  // workspace), so the test finds it by its file name on the host's process list.
  await writeFile(join(hanging, 'test', HANG_FILE), `import { test } from 'node:test';\ntest('never ends', () => new Promise(() => setInterval(() => {}, 1000)));\n`);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function runHanging(runId: string, timeouts: ChainTimeouts) {
  return runChain(await demoChainInputs({ runId, outDir: join(work, 'out') }, { fixtureDir: hanging, clock: createSteppingClock(at), timeouts }));
}

describe('bounded waits in the chain', () => {
  test('with the runtime as a separate process, the same tool bound applies and the bundle verifies', async () => {
    const inputs = await demoChainInputs({ runId: 'timeout-tool-process', outDir: join(work, 'out') }, { fixtureDir: hanging, clock: createSteppingClock(at), timeouts: { toolMs: 3000 } });
    const result = await runChainOverConnections(inputs);
    expect(result).toMatchObject({ ending: 'runtime-failed', approvalStatus: 'not_requested' });
    const calls = (await readFile(join(result.dir, 'tool-calls.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { tool: string; status: string; exitCode?: number });
    expect(calls[calls.length - 1]).toMatchObject({ tool: 'run_tests', status: 'failed', exitCode: 124 });
    expect((await verifyBundle(result.dir)).valid).toBe(true);
  }, 60_000);

  test('a hung test suite is stopped at the tool bound, recorded as a failed call, and the bundle verifies', async () => {
    const result = await runHanging('timeout-tool', { toolMs: 3000 });
    expect(result).toMatchObject({ ending: 'runtime-failed', approvalStatus: 'not_requested' });
    const calls = (await readFile(join(result.dir, 'tool-calls.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { tool: string; status: string; exitCode?: number });
    expect(calls[calls.length - 1]).toMatchObject({ tool: 'run_tests', status: 'failed', exitCode: 124 });
    // `node --test` runs each file in a child of its own; stopping the call must stop that child too.
    // SIGKILL is delivered at once, but an orphan is reaped a moment later; allow for that, not for ever.
    for (let i = 0; i < 50 && hangingProcesses().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(hangingProcesses()).toEqual([]);
    expect((await verifyBundle(result.dir)).valid).toBe(true);
  }, 60_000);

  test('a session that never ends is closed by Cloud at the session bound, and the bundle still verifies', async () => {
    const result = await runHanging('timeout-session', { toolMs: 600_000, sessionMs: 3000 });
    expect(result.ending).toBe('runtime-failed');
    expect(result.summary).toMatch(/SESSION_TIMEOUT/);
    expect((await verifyBundle(result.dir)).valid).toBe(true);
  }, 60_000);

  test('an enrollment nobody answers fails with ENROLL_TIMEOUT', async () => {
    const silent: RuntimeEndpoint = { send: async () => undefined, onMessage: () => undefined, onError: () => undefined, close: () => undefined };
    const runtime = createRuntime({
      endpoint: silent,
      runtimeId: 'rt-silent',
      signingKey: parseSigningKeyPem(generateSigningKeyPem()),
      clock: createSteppingClock(at),
      ids: createSequentialIds(),
      host: { hostname: 'h', os: 'linux', arch: 'x64', nodeVersion: 'v20.20.2' },
      labels: ['git', 'node'],
      fixtureDir: join(ROOT, DEMO_PATHS.fixture),
      enrollTimeoutMs: 50,
    });
    const error: unknown = await runtime.enroll().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RuntimeError);
    expect((error as RuntimeError).code).toBe('ENROLL_TIMEOUT');
  });

  test('Cloud waiting for a runtime that never enrolls fails with RUNTIME_TIMEOUT', async () => {
    const silent: CloudEndpoint = { send: async () => undefined, onMessage: () => undefined, onError: () => undefined, close: () => undefined };
    const cloud = createCloud({
      endpoint: silent,
      clock: createSteppingClock(at),
      ids: createSequentialIds(),
      signingKey: parseSigningKeyPem(generateSigningKeyPem()),
      rules: await loadRulesFile(join(ROOT, DEMO_PATHS.cloudRules)),
    });
    const error: unknown = await cloud.waitForRuntime(['git'], undefined, 50).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CloudError);
    expect((error as CloudError).code).toBe('RUNTIME_TIMEOUT');
  });

  test('timeouts that are not positive whole milliseconds are API misuse', async () => {
    const silent: RuntimeEndpoint = { send: async () => undefined, onMessage: () => undefined, onError: () => undefined, close: () => undefined };
    const base = {
      endpoint: silent,
      runtimeId: 'rt-x',
      signingKey: parseSigningKeyPem(generateSigningKeyPem()),
      clock: createSteppingClock(at),
      ids: createSequentialIds(),
      host: { hostname: 'h', os: 'linux', arch: 'x64', nodeVersion: 'v20.20.2' },
      labels: ['git'],
      fixtureDir: join(ROOT, DEMO_PATHS.fixture),
    };
    expect(() => createRuntime({ ...base, toolTimeoutMs: 0 })).toThrow(RangeError);
    expect(() => createRuntime({ ...base, enrollTimeoutMs: Number.NaN })).toThrow(RangeError);
  });
});

describe('time bounds from the environment', () => {
  for (const [name, value] of [
    ['LUMENFLOW_TOOL_TIMEOUT_MS', 'soon'],
    ['LUMENFLOW_SESSION_TIMEOUT_MS', '0'],
    ['LUMENFLOW_ENROLL_TIMEOUT_MS', '-5'],
  ] as const) {
    test(`${name}=${value} is refused with TIMEOUT_INVALID before anything runs`, async () => {
      const out = join(work, `cli-${name}`);
      const result = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/demo/trusted-compute.ts'), '--mode', 'happy', '--out-dir', out, '--run-id', 'bad-timeout'], {
        cwd: ROOT,
        env: { ...process.env, [name]: value, LUMENFLOW_CLOCK: '' },
        encoding: 'utf8',
      });
      expect(result.status).toBe(2);
      expect(result.stderr).toMatch(/^error TIMEOUT_INVALID: /m);
      expect(result.stderr).not.toMatch(/^\s+at /m);
      expect(await readdir(out).catch(() => [])).toEqual([]);
    }, 60_000);
  }
});
