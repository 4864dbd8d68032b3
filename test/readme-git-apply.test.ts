import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';

// The README's line for checking a bundle's change, run as written on both
// golden bundles: it must succeed on the happy one and say "no change" (not
// fail) on the policy-blocked one, whose patch is empty.
const ROOT = resolve(import.meta.dirname, '..');

async function readmeLine(): Promise<string> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const line = readme.split('\n').find((l) => l.startsWith('if [ -s <bundle-dir>/file-diff.patch ]'));
  if (line === undefined) throw new Error('the README no longer holds the git apply line');
  return line;
}

describe("the README's git apply line", () => {
  for (const [mode, expected] of [['happy', ''], ['policy-blocked', 'no change to apply']] as const) {
    test(`works on the ${mode} golden bundle`, async () => {
      const work = await mkdtemp(join(tmpdir(), 'lumenflow-readme-apply-'));
      try {
        await cp(join(ROOT, 'scripts/demo/fixtures/calc'), work, { recursive: true });
        expect(spawnSync('git', ['init', '-q'], { cwd: work }).status).toBe(0);
        const line = (await readmeLine()).replaceAll('<bundle-dir>', join(ROOT, 'test/golden', mode));
        const result = spawnSync('sh', ['-c', line], { cwd: work, encoding: 'utf8' });
        expect(result.status, result.stderr).toBe(0);
        expect(result.stdout.trim()).toBe(expected);
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    });
  }
});
