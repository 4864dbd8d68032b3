import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { REPO_ROOT, writeThrowawayKeys } from '../support/demo-chain.js';

describe('the sandbox setting on the CLI', () => {
  test('an unknown LUMENFLOW_SANDBOX is one line with a code, exit 2, before anything runs', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/demo/trusted-compute.ts', '--mode', 'happy', '--out-dir', '/tmp/lumenflow-never'], {
      cwd: REPO_ROOT,
      env: { ...process.env, LUMENFLOW_SANDBOX: 'docker' },
      encoding: 'utf8',
    });
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error SANDBOX_INVALID: /)]);
  });

  // The chain starts while the sandbox is being made; a host that cannot make one still gets only its error.
  test('a bwrap that cannot make the sandbox is one SANDBOX_UNAVAILABLE line, exit 2, and no bundle', async () => {
    const work = await mkdtemp(join(tmpdir(), 'lumenflow-nobwrap-'));
    try {
      const bin = join(work, 'bin');
      await mkdir(bin);
      // Found first on PATH: a bwrap that answers nothing and makes nothing.
      await writeFile(join(bin, 'bwrap'), '#!/bin/sh\nexit 1\n');
      await chmod(join(bin, 'bwrap'), 0o755);
      const out = join(work, 'out');
      const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/demo/trusted-compute.ts', '--mode', 'happy', '--out-dir', out, '--run-id', 'no-sandbox'], {
        cwd: REPO_ROOT,
        env: { ...process.env, ...(await writeThrowawayKeys(work)), PATH: `${bin}:${process.env['PATH'] ?? ''}`, LUMENFLOW_SANDBOX: '' },
        encoding: 'utf8',
      });
      expect(result.status).toBe(2);
      expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error SANDBOX_UNAVAILABLE: .*bwrap/)]);
      expect((await readdir(out)).filter((name) => !name.endsWith('.log'))).toEqual([]);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }, 60_000);
});
