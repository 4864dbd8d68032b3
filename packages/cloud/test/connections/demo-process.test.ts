// The CI smoke test for Connections: the demo with `--runtime process` runs
// the runtime as a child process over loopback, and its bundles verify like
// the in-process ones, pinned to the signer.
import { spawnSync } from 'node:child_process';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NodeSessionSchema } from '@lumenflow/protocol';
import { generateSigningKeyPem, parseSigningKeyPem } from '@lumenflow/verifier';
import { createTempDir } from './helpers.js';

const ROOT = resolve(import.meta.dirname, '../../../..');
const CLI = join(ROOT, 'scripts/demo/trusted-compute.ts');

function runCli(args: string[], env: NodeJS.ProcessEnv): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('pnpm demo:trusted-compute --runtime process', () => {
  for (const mode of ['happy', 'policy-blocked'] as const) {
    it(`${mode}: runs with a runtime process, and the bundle verifies pinned to the signer`, async () => {
      const work = await createTempDir('demo-process');
      const pem = generateSigningKeyPem();
      const signerPath = join(work, 'signer.pem');
      await writeFile(signerPath, pem, { mode: 0o600 });
      const keyId = parseSigningKeyPem(pem).keyId;
      const env = { ...process.env, LUMENFLOW_SIGNING_KEY: signerPath, LUMENFLOW_CLOCK: '', NO_COLOR: '1' };
      const outDir = join(work, 'evidence');
      const run = runCli(['--mode', mode, '--runtime', 'process', '--out-dir', outDir, '--run-id', `run-${mode}`, '--json', '--log-level', 'silent'], env);
      expect(run.stderr).not.toMatch(/^error /m);
      expect(run.code).toBe(0);
      const summary = JSON.parse(run.stdout);
      expect(summary.endedAsIntended).toBe(true);
      expect(summary.bundleMode).toBe(mode);
      const bundle = join(outDir, `run-${mode}`);
      expect((await readdir(bundle)).sort()).toContain('node-session.json');
      const session = NodeSessionSchema.parse(JSON.parse(await readFile(join(bundle, 'node-session.json'), 'utf8')));
      // The runtime made its own key in its own process: it is not the Proof signer.
      expect(session.runtime.runtimeId).toMatch(/^rt-/);
      expect(session.runtime.keyId).not.toBe(keyId);
      const verify = runCli(['--verify', bundle, '--expect-key-id', keyId], env);
      expect(verify.code).toBe(0);
    });
  }
});
