import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createBubblewrapSandbox } from '@lumenflow/runtime';
import type { Sandbox } from '@lumenflow/runtime';

// Real processes in the real sandbox, with small bounds: each attack ends in a
// bounded, recorded failure, and the sandbox still runs the next process.
let sandbox: Sandbox;
let ws: string;
const MiB = 1024 * 1024;

beforeAll(async () => {
  sandbox = await createBubblewrapSandbox({ limits: { cpuSeconds: 1, fileSizeBytes: MiB, outputBytes: MiB, processes: 64, memoryBytes: 512 * MiB, tmpBytes: 4 * MiB } });
  ws = await mkdtemp(join(tmpdir(), 'lumenflow-limits-'));
});
afterAll(async () => {
  await rm(ws, { recursive: true, force: true });
});

const run = (program: string, args: string[], signal?: AbortSignal) => sandbox.run(program, args, { workspaceDir: ws, env: {}, ...(signal ? { signal } : {}) });

async function stillHealthy(): Promise<void> {
  const result = await run('node', ['-e', 'process.stdout.write("alive")']);
  expect(result).toMatchObject({ exitCode: 0, stdout: 'alive' });
}

describe('sandbox limits', () => {
  test('endless output is cut at the cap and the process stopped', async () => {
    const result = await run('yes', []);
    expect(result.limit).toBe('output');
    expect(result.stdout.length).toBeLessThanOrEqual(MiB);
    await stillHealthy();
  });

  test('an endless loop is stopped by the CPU bound', async () => {
    const result = await run('node', ['-e', 'for (;;) {}']);
    expect(result.limit).toBe('cpu-time');
    expect(result.exitCode).not.toBe(0);
    await stillHealthy();
  });

  test('a huge file stops at the file-size bound, and /tmp is bounded too', async () => {
    const big = await run('sh', ['-c', 'head -c 50000000 /dev/zero > big.bin']);
    expect(big.limit).toBe('file-size');
    expect((await stat(join(ws, 'big.bin'))).size).toBeLessThanOrEqual(MiB);
    const tmp = await run('sh', ['-c', 'for i in 1 2 3 4 5 6 7 8; do head -c 900000 /dev/zero > /tmp/f$i || exit 9; done']);
    expect(tmp.exitCode).toBe(9);
    await stillHealthy();
  });

  test('a fork bomb meets the process bound; what it started dies with the sandbox', async () => {
    const script = `
      const { spawn } = require('node:child_process');
      let ok = 0, failed = 0;
      for (let i = 0; i < 300; i++) {
        try { const c = spawn('sleep', ['30']); c.on('error', () => failed++); if (c.pid) ok++; } catch { failed++; }
      }
      setTimeout(() => { console.log(JSON.stringify({ ok, failed })); process.exit(0); }, 1000);
    `;
    const started = Date.now();
    // Its own sandbox: the 1 s CPU bound of the others could stop the spawning loop on a loaded machine.
    const roomy = await createBubblewrapSandbox({ limits: { processes: 64, cpuSeconds: 60 } });
    const result = await roomy.run('node', ['-e', script], { workspaceDir: ws, env: {} });
    const counts = JSON.parse(result.stdout.trim().split('\n').pop() ?? '{}') as { ok: number; failed: number };
    expect(counts.ok).toBeLessThan(64);
    expect(counts.failed).toBeGreaterThan(0);
    // The sleeps were killed with the sandbox, not waited for.
    expect(Date.now() - started).toBeLessThan(25_000);
    await stillHealthy();
  });

  test('a process tree stopped by the wall-time signal leaves nothing running', async () => {
    const marker = `61.${process.pid}`;
    await expect(run('sh', ['-c', `sleep ${marker} & sh -c 'sleep ${marker}' & wait`], AbortSignal.timeout(1000))).rejects.toMatchObject({ name: 'AbortError' });
    await new Promise((r) => setTimeout(r, 300));
    const { execFileSync } = await import('node:child_process');
    const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    expect(ps).not.toContain(`sleep ${marker}`);
    await stillHealthy();
  });
});
