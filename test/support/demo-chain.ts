// The checked-in demo as runChain inputs, so each test states only what it changes.
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseAsk } from '@lumenflow/cloud';
import { loadRulesFile } from '@lumenflow/policy';
import { createSteppingClock } from '@lumenflow/protocol';
import { generateSigningKeyPem, parseSigningKeyPem } from '@lumenflow/verifier';
import { DEMO_PATHS } from '../../scripts/demo/commands/chain.js';
import type { ChainInputs } from '../../scripts/demo/commands/chain.js';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const TEST_CLOCK_START = '2026-11-23T10:00:00.000Z';
export const TEST_HOST = { hostname: 'h', os: 'linux', arch: 'x64', nodeVersion: 'v20.20.2' } as const;

/**
 * Inputs for one demo run: the mode's checked-in Ask, the demo Cloud and local
 * rules, the calc fixture, a stepping clock, fresh throwaway keys, a fixed host
 * and an approver that approves. `overrides` replace any of them.
 */
export async function demoChainInputs(
  run: { runId: string; outDir: string; mode?: 'happy' | 'policy-blocked' },
  overrides: Partial<ChainInputs> = {},
): Promise<ChainInputs> {
  const askPath = join(REPO_ROOT, DEMO_PATHS.asks, `${run.mode ?? 'happy'}.json`);
  return {
    runId: run.runId,
    ask: parseAsk(await readFile(askPath, 'utf8'), askPath),
    cloudRules: await loadRulesFile(join(REPO_ROOT, DEMO_PATHS.cloudRules)),
    localRules: await loadRulesFile(join(REPO_ROOT, DEMO_PATHS.localRules)),
    fixtureDir: join(REPO_ROOT, DEMO_PATHS.fixture),
    outDir: run.outDir,
    clock: createSteppingClock(new Date(TEST_CLOCK_START)),
    signingKey: parseSigningKeyPem(generateSigningKeyPem()),
    runtimeKey: parseSigningKeyPem(generateSigningKeyPem()),
    host: { ...TEST_HOST },
    approver: async () => ({ approver: 'reviewer.test', decision: 'approved', reason: 'ok' }),
    replayUrl: `http://127.0.0.1:4173/runs/${run.runId}`,
    ...overrides,
  };
}

/**
 * Writes a throwaway bundle signer and runtime key (0600, as the key loader
 * demands) into `dir`, and returns the environment that points the CLI at them.
 */
export async function writeThrowawayKeys(dir: string): Promise<{ LUMENFLOW_SIGNING_KEY: string; LUMENFLOW_RUNTIME_KEY: string }> {
  const signer = join(dir, 'signer.pem');
  const runtimeKey = join(dir, 'runtime.pem');
  await writeFile(signer, generateSigningKeyPem(), { mode: 0o600 });
  await writeFile(runtimeKey, generateSigningKeyPem(), { mode: 0o600 });
  return { LUMENFLOW_SIGNING_KEY: signer, LUMENFLOW_RUNTIME_KEY: runtimeKey };
}
