// The fixed-seed demo run behind the golden files: fixed run id, clock, host,
// TEST-ONLY keys and the checked-in Asks, rules and fixture. Shared by the
// golden test and by `pnpm exec tsx test/golden/regenerate.ts`.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { PullRequestConfig, RunResult } from '@lumenflow/cloud';
import { createSteppingClock } from '@lumenflow/protocol';
import type { Clock } from '@lumenflow/protocol';
import { openSandbox } from '@lumenflow/runtime';
import type { Sandbox } from '@lumenflow/runtime';
import { parseSigningKeyPem } from '@lumenflow/verifier';
import { DEMO_PATHS, SCRIPTED_APPROVER, runChain } from '../../scripts/demo/commands/chain.js';
import { buildPullRequestConfig } from '../../scripts/demo/pull-request-options.js';
import { demoChainInputs } from '../support/demo-chain.js';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const GOLDEN_DIR = resolve(import.meta.dirname);
export const GOLDEN_CLOCK = '2026-11-23T10:00:00.000Z';
export const GOLDEN_HOST = { hostname: 'golden-host.example', os: 'linux', arch: 'x64', nodeVersion: 'v20.20.2' } as const;
export const GOLDEN_MODES = ['happy', 'policy-blocked'] as const;
/**
 * As with the host, the boundary's description is fixed (its profile names
 * this machine's directories and process bound); the tests still run in the
 * real bubblewrap sandbox.
 */
export const GOLDEN_SANDBOX = { kind: 'bubblewrap', version: '0.8.0', profileDigest: `sha256:${'5a'.repeat(32)}` } as const;

async function goldenSandbox(): Promise<Sandbox> {
  const real = await openSandbox({ mode: 'bubblewrap' });
  return { info: { ...GOLDEN_SANDBOX }, callInfo: { kind: 'bubblewrap', profileDigest: GOLDEN_SANDBOX.profileDigest }, run: real.run };
}

/** Runs the demo chain with every input fixed, writing `<outDir>/golden-<mode>`. */
export async function runGoldenChain(mode: (typeof GOLDEN_MODES)[number], outDir: string): Promise<RunResult> {
  const keyDir = join(GOLDEN_DIR, 'keys');
  const clock = createSteppingClock(new Date(GOLDEN_CLOCK));
  // The demo's default pull-request step (the offline patch provider), with its use ledger beside the bundle.
  const pr = await buildPullRequestConfig({ flags: {}, env: {}, outDir, repoDir: undefined, fixtureDir: join(REPO_ROOT, DEMO_PATHS.fixture), clock });
  try {
    return await runGoldenRun(mode, outDir, keyDir, clock, pr.config);
  } finally {
    await pr.dispose();
  }
}

async function runGoldenRun(mode: (typeof GOLDEN_MODES)[number], outDir: string, keyDir: string, clock: Clock, pullRequest: PullRequestConfig): Promise<RunResult> {
  return runChain(
    await demoChainInputs(
      { runId: `golden-${mode}`, outDir, mode },
      {
        clock,
        pullRequest,
        signingKey: parseSigningKeyPem(await readFile(join(keyDir, 'bundle-signer.TEST-ONLY.pem'), 'utf8')),
        runtimeKey: parseSigningKeyPem(await readFile(join(keyDir, 'runtime.TEST-ONLY.pem'), 'utf8')),
        host: { ...GOLDEN_HOST },
        sandbox: await goldenSandbox(),
        approver: async () => ({ approver: SCRIPTED_APPROVER, decision: 'approved', reason: 'Golden run: scripted approval.' }),
      },
    ),
  );
}
