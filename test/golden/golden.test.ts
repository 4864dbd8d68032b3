import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { verifyBundle } from '@lumenflow/verifier';
import { GOLDEN_DIR, GOLDEN_MODES, runGoldenChain } from './golden-run.js';

// A third party checks our bundles byte for byte; a fixed seed must give the same
// bytes every time, and any change to them must show up here as a reviewed diff.
// Regenerate with: pnpm exec tsx test/golden/regenerate.ts

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lumenflow-golden-test-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function readTree(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const name of (await readdir(dir)).sort()) files.set(name, await readFile(join(dir, name)));
  return files;
}

describe.each(GOLDEN_MODES)('golden %s run', (mode) => {
  test('two fixed-seed runs give byte-identical bundles equal to the committed golden files', async () => {
    const first = await runGoldenChain(mode, join(work, `${mode}-1`));
    const second = await runGoldenChain(mode, join(work, `${mode}-2`));
    const a = await readTree(first.dir);
    const b = await readTree(second.dir);
    const golden = await readTree(join(GOLDEN_DIR, mode));
    expect([...a.keys()]).toEqual([...golden.keys()]);
    for (const [name, bytes] of a) {
      expect(bytes.equals(b.get(name) as Buffer), `${name} differs between two runs`).toBe(true);
      expect(bytes.toString('utf8'), `${name} differs from test/golden/${mode}`).toBe((golden.get(name) as Buffer).toString('utf8'));
    }
    expect(first.mode).toBe(mode);
  });

  test('the committed golden bundle verifies, pinned to its TEST-ONLY signer', async () => {
    const pem = await readFile(join(GOLDEN_DIR, 'keys', 'bundle-signer.TEST-ONLY.pem'), 'utf8');
    const { parseSigningKeyPem } = await import('@lumenflow/verifier');
    const report = await verifyBundle(join(GOLDEN_DIR, mode), { trustedPublicKeyPem: parseSigningKeyPem(pem).publicKeyPem });
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.valid).toBe(true);
  });
});
