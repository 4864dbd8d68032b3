// The fixed-seed demo run behind the golden files: fixed run id, clock, host,
// TEST-ONLY keys and the checked-in Asks, rules and fixture. Shared by the
// golden test and by `pnpm exec tsx test/golden/regenerate.ts`.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { RunResult } from '@lumenflow/cloud';
import { createSteppingClock } from '@lumenflow/protocol';
import { parseSigningKeyPem } from '@lumenflow/verifier';
import { SCRIPTED_APPROVER, runChain } from '../../scripts/demo/commands/chain.js';
import { demoChainInputs } from '../support/demo-chain.js';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const GOLDEN_DIR = resolve(import.meta.dirname);
export const GOLDEN_CLOCK = '2026-11-23T10:00:00.000Z';
export const GOLDEN_HOST = { hostname: 'golden-host.example', os: 'linux', arch: 'x64', nodeVersion: 'v20.20.2' } as const;
export const GOLDEN_MODES = ['happy', 'policy-blocked'] as const;

/** Runs the demo chain with every input fixed, writing `<outDir>/golden-<mode>`. */
export async function runGoldenChain(mode: (typeof GOLDEN_MODES)[number], outDir: string): Promise<RunResult> {
  const keyDir = join(GOLDEN_DIR, 'keys');
  return runChain(
    await demoChainInputs(
      { runId: `golden-${mode}`, outDir, mode },
      {
        clock: createSteppingClock(new Date(GOLDEN_CLOCK)),
        signingKey: parseSigningKeyPem(await readFile(join(keyDir, 'bundle-signer.TEST-ONLY.pem'), 'utf8')),
        runtimeKey: parseSigningKeyPem(await readFile(join(keyDir, 'runtime.TEST-ONLY.pem'), 'utf8')),
        host: { ...GOLDEN_HOST },
        approver: async () => ({ approver: SCRIPTED_APPROVER, decision: 'approved', reason: 'Golden run: scripted approval.' }),
      },
    ),
  );
}
