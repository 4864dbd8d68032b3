import { spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { REPO_ROOT } from '../support/demo-chain.js';

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
});
