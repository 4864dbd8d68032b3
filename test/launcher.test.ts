// `pnpm demo:trusted-compute` runs scripts/demo/launch.mjs: both modes through
// it as a user would, and its bundle is rebuilt whenever it is older than a source.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeThrowawayKeys } from './support/demo-chain.js';

const ROOT = resolve(import.meta.dirname, '..');
const LAUNCHER = join(ROOT, 'scripts/demo/launch.mjs');
const BUNDLE = join(ROOT, ".lumenflow/build/trusted-compute.cjs");

let work: string;
let env: NodeJS.ProcessEnv;

function launch(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [LAUNCHER, ...args], { cwd: ROOT, env, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lumenflow-launcher-'));
  env = { ...process.env, ...(await writeThrowawayKeys(work)), LUMENFLOW_DEBUG: '' };
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('the demo launcher', () => {
  it.each(['happy', 'policy-blocked'])('runs --mode %s and its bundle verifies through the same command', (mode) => {
    const run = launch('--mode', mode, '--out-dir', join(work, 'out'), '--run-id', `launcher-${mode}`, '--json');
    expect(run.status).toBe(0);
    const summary = JSON.parse(run.stdout) as { bundleMode: string; bundleDir: string; signerKeyId: string };
    expect(summary.bundleMode).toBe(mode);
    const verify = launch('--verify', summary.bundleDir, '--expect-key-id', summary.signerKeyId, '--json');
    expect(verify.status).toBe(0);
    expect((JSON.parse(verify.stdout) as { valid: boolean; signerPinned: boolean })).toMatchObject({ valid: true, signerPinned: true });
  });

  it('rebuilds a bundle that is older than its sources before running it', async () => {
    expect(launch('--help').status).toBe(0);
    const longAgo = new Date('2001-01-01T00:00:00Z');
    await utimes(BUNDLE, longAgo, longAgo);
    const run = launch('--explain', 'fs.read:.env');
    expect(run.status).toBe(0);
    expect((await stat(BUNDLE)).mtime.getTime()).toBeGreaterThan(longAgo.getTime());
  });

  it('keeps a V8 code cache for the run command, bound to the exact bundle bytes, and replaces one that is not', async () => {
    const cache = `${BUNDLE}.run.v8cache`;
    const run = (id: string): ReturnType<typeof launch> => launch('--mode', 'happy', '--out-dir', join(work, 'out'), '--run-id', id, '--json');
    expect(run('cache-1').status).toBe(0);
    const digest = createHash('sha256').update(await readFile(BUNDLE)).digest();
    const made = await readFile(cache);
    expect(made.subarray(0, 32).equals(digest)).toBe(true);
    expect(made.length).toBeGreaterThan(100_000);

    // V8 would take this data (it checks only the source's length), but the digest names other bytes: unused, replaced.
    const foreign = Buffer.from(made);
    foreign[0] = (foreign[0] ?? 0) ^ 0xff;
    await writeFile(cache, foreign);
    expect(run('cache-2').status).toBe(0);
    expect((await readFile(cache)).subarray(0, 32).equals(digest)).toBe(true);

    // The right digest over data V8 refuses: the run is the same, and the cache is made again.
    await writeFile(cache, Buffer.concat([digest, Buffer.from('not a code cache')]));
    const third = run('cache-3');
    expect(third.status).toBe(0);
    expect((JSON.parse(third.stdout) as { bundleMode: string }).bundleMode).toBe('happy');
    expect((await readFile(cache)).length).toBeGreaterThan(100_000);
  });

  it('builds a bundle that does not load again, once, and runs it', async () => {
    expect(launch('--help').status).toBe(0);
    // Newer than every source, so only loading it shows that it is not the CLI.
    await writeFile(BUNDLE, 'this is not the CLI ((');
    const run = launch('--explain', 'fs.read:.env', '--json');
    expect(run.status).toBe(0);
    expect((JSON.parse(run.stdout) as { decision: { effect: string } }).decision.effect).toBe('deny');
    expect((await stat(BUNDLE)).size).toBeGreaterThan(100_000);
  });

  it('keeps the CLI contract: a usage error is one line and exit 2', () => {
    const run = launch('--no-such-flag');
    expect(run.status).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error USAGE: /)]);
  });
});
