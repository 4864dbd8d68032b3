// pnpm bench:demo — wall time of a happy demo run through the real CLI, beside
// its floor: what any such run must pay anyway, measured in this same script run:
//   plain node start-up (what the launcher pays) + the fixture's own `node --test` run.
// Target: happy run ≤ floor + 0.3 s. Prints medians of ROUNDS runs each. The
// happy run is timed as users start it, through scripts/demo/launch.mjs (a
// prebuilt bundle of the CLI); the tsx path is printed beside it.
import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createBubblewrapSandbox, createUnsandboxed } from '@lumenflow/runtime';
import type { Sandbox } from '@lumenflow/runtime';
import { generateSigningKeyPem } from '@lumenflow/verifier';

const ROUNDS = 9;
const TARGET_MARGIN_MS = 300;
const ROOT = resolve(import.meta.dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const LAUNCHER = join(ROOT, 'scripts/demo/launch.mjs');

function time(program: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; expect?: number[] }): number {
  const t0 = performance.now();
  const result = spawnSync(program, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: 'ignore' });
  const ms = performance.now() - t0;
  if (!(opts.expect ?? [0]).includes(result.status ?? -1)) throw new Error(`${program} ${args.join(' ')} exited ${result.status}`);
  return ms;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const SANDBOX_STARTS = 30;
const SANDBOX_TARGET_MS = 30;

/** Median wall time of starting `true` through a sandbox, as a tool call starts its process. */
async function startCost(sandbox: Sandbox, workspaceDir: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < SANDBOX_STARTS; i++) {
    const t0 = performance.now();
    const result = await sandbox.run('true', [], { workspaceDir, env: {} });
    times.push(performance.now() - t0);
    if (result.exitCode !== 0) throw new Error(`true exited ${result.exitCode} in the sandbox`);
  }
  return median(times);
}

const work = await mkdtemp(join(tmpdir(), 'lumenflow-bench-demo-'));
try {
  // The boundary's own cost: one process start under bubblewrap against a bare spawn.
  const bare = await startCost(createUnsandboxed('bench'), work);
  const boxed = await startCost(await createBubblewrapSandbox(), work);
  process.stdout.write(
    [
      `process start, bare spawn (median of ${SANDBOX_STARTS}):        ${bare.toFixed(1)} ms`,
      `process start, bubblewrap sandbox (median of ${SANDBOX_STARTS}): ${boxed.toFixed(1)} ms`,
      `sandbox cost per process:                     ${(boxed - bare).toFixed(1)} ms (target < ${SANDBOX_TARGET_MS} ms) ${boxed - bare < SANDBOX_TARGET_MS ? 'MET' : 'NOT MET'}`,
      '',
    ].join('\n'),
  );

  const empty = join(work, 'empty.ts');
  await writeFile(empty, 'export {};\n');
  const fixture = join(work, 'fixture');
  await cp(join(ROOT, 'scripts/demo/fixtures/calc'), fixture, { recursive: true });
  const signer = join(work, 'signer.pem');
  const runtimeKey = join(work, 'runtime.pem');
  await writeFile(signer, generateSigningKeyPem(), { mode: 0o600 });
  await writeFile(runtimeKey, generateSigningKeyPem(), { mode: 0o600 });
  const env = { ...process.env, LUMENFLOW_SIGNING_KEY: signer, LUMENFLOW_RUNTIME_KEY: runtimeKey };

  // Warm the file system cache, tsx's transform cache and the launcher's bundle once, untimed.
  time(TSX, [empty], { cwd: ROOT });
  time(TSX, ['scripts/demo/trusted-compute.ts', '--mode', 'happy', '--out-dir', join(work, 'out'), '--run-id', 'warm-up'], { cwd: ROOT, env });
  time('node', [LAUNCHER, '--mode', 'happy', '--out-dir', join(work, 'out'), '--run-id', 'warm-up-launcher'], { cwd: ROOT, env });

  const tsxStart: number[] = [];
  const nodeStart: number[] = [];
  const fixtureTests: number[] = [];
  const happy: number[] = [];
  const happyThroughTsx: number[] = [];
  const cliLoad: number[] = [];
  const launcherLoad: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    tsxStart.push(time(TSX, [empty], { cwd: ROOT }));
    nodeStart.push(time('node', ['-e', ''], { cwd: ROOT }));
    // Not part of the floor: where the time over it goes (loading the CLI's module graph).
    cliLoad.push(time(TSX, ['scripts/demo/trusted-compute.ts', '--help'], { cwd: ROOT }));
    launcherLoad.push(time('node', [LAUNCHER, '--help'], { cwd: ROOT }));
    // The unfixed fixture fails one test on purpose: exit 1 is its normal result.
    fixtureTests.push(time('node', ['--test', '--test-reporter=tap'], { cwd: fixture, expect: [1] }));
    // What `pnpm demo:trusted-compute` runs (pnpm's own start-up, the same for any script, is left out).
    happy.push(time('node', [LAUNCHER, '--mode', 'happy', '--out-dir', join(work, 'out'), '--run-id', `bench-${i}`], { cwd: ROOT, env }));
    happyThroughTsx.push(time(TSX, ['scripts/demo/trusted-compute.ts', '--mode', 'happy', '--out-dir', join(work, 'out'), '--run-id', `bench-tsx-${i}`], { cwd: ROOT, env }));
  }
  // The launcher runs a prebuilt bundle with plain node, so plain node start-up is what it must pay.
  const floor = median(nodeStart) + median(fixtureTests);
  const run = median(happy);
  const over = run - floor;
  const fmt = (ms: number): string => `${(ms / 1000).toFixed(3)} s`;
  process.stdout.write(
    [
      `demo happy run (median of ${ROUNDS}):   ${fmt(run)}   (node scripts/demo/launch.mjs, as pnpm demo:trusted-compute runs it)`,
      `  the same through tsx directly:   ${fmt(median(happyThroughTsx))}`,
      `floor = node start-up ${fmt(median(nodeStart))} + fixture node --test ${fmt(median(fixtureTests))} = ${fmt(floor)}`,
      `over the floor:                    ${fmt(over)} (target ≤ ${fmt(TARGET_MARGIN_MS)}) ${over <= TARGET_MARGIN_MS ? 'MET' : 'NOT MET'}`,
      `  of which starting the CLI through the launcher (--help minus node start-up): ${fmt(median(launcherLoad) - median(nodeStart))}`,
      `  (through tsx the same costs ${fmt(median(cliLoad) - median(tsxStart))} over tsx start-up)`,
      '',
    ].join('\n'),
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
