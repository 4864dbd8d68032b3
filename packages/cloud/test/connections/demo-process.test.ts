// The CI smoke test for Connections: the demo with `--runtime process` runs
// the runtime as a child process over loopback, and its bundles verify like
// the in-process ones, pinned to the signer.
import { spawnSync } from 'node:child_process';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NodeSessionSchema, PolicyDecisionRecordSchema, TestResultsSchema, ToolCallRecordSchema } from '@lumenflow/protocol';
import { verifyRuntimeReceipts } from '@lumenflow/cloud';
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

      // Every record the runtime made carries its own signature, under the key node-session.json names.
      const lines = async (name: string): Promise<unknown[]> =>
        (await readFile(join(bundle, name), 'utf8')).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
      const inputs = {
        nodeSession: session,
        decisions: (await lines('policy-decisions.jsonl')).map((d) => PolicyDecisionRecordSchema.parse(d)),
        toolCalls: (await lines('tool-calls.jsonl')).map((t) => ToolCallRecordSchema.parse(t)),
        testResults: TestResultsSchema.parse(JSON.parse(await readFile(join(bundle, 'test-results.json'), 'utf8'))),
        patch: await readFile(join(bundle, 'file-diff.patch'), 'utf8'),
      };
      const report = verifyRuntimeReceipts(inputs);
      expect(report.problems).toEqual([]);
      expect(report.verified).toBe(session.runtimeEvidence?.receipts.length);
      if (mode === 'happy') {
        expect(report.verified).toBeGreaterThanOrEqual(inputs.toolCalls.length * 2);
        // Cloud cannot rewrite what the runtime reported: one changed field breaks that record's receipt.
        const forged = { ...inputs, toolCalls: inputs.toolCalls.map((t, i) => (i === 0 ? { ...t, status: 'failed' as const } : t)) };
        expect(verifyRuntimeReceipts(forged).problems).toEqual([{ code: 'RECEIPT_SIGNATURE_INVALID', subject: `evidence.tool-call/${inputs.toolCalls[0]?.toolCallId}` }]);
        expect(verifyRuntimeReceipts({ ...inputs, patch: `${inputs.patch} ` }).problems.map((p) => p.code)).toEqual(['RECEIPT_SIGNATURE_INVALID']);
      }
    });
  }
});
