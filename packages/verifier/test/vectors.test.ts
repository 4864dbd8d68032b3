import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECK_NAMES, verifyBundle } from '@lumenflow/verifier';
import type { Expected } from './support/vector-corpus.js';
import { writeVectors } from './support/vector-corpus.js';
import { useTempDirs } from './support/temp-dir.js';

const root = join(import.meta.dirname, 'vectors');
const cases = (group: string): Array<[string, Expected]> =>
  readdirSync(join(root, group))
    .sort()
    .map((name) => [name, JSON.parse(readFileSync(join(root, group, name, 'expected.json'), 'utf8')) as Expected]);

describe('valid vectors', () => {
  for (const [name, expected] of cases('valid')) {
    it(`${name}: ${expected.comment}`, async () => {
      const report = await verifyBundle(join(root, 'valid', name, 'bundle'), expected.pin ?? {});
      expect(report.checks.filter((c) => !c.ok), expected.comment).toEqual([]);
      expect(report.valid).toBe(true);
      expect(report.checks.map((c) => c.name)).toEqual([...CHECK_NAMES]);
      expect(report.signerPinned).toBe(expected.pin !== undefined);
      const trust = report.checks.find((c) => c.name === 'signer.trusted');
      expect(trust?.code).toBe(expected.pin === undefined ? 'SIGNER_NOT_PINNED' : undefined);
    });
  }
});

describe('invalid vectors', () => {
  const invalid = cases('invalid');
  it('has at least 30 cases', () => {
    expect(invalid.length).toBeGreaterThanOrEqual(30);
  });
  for (const [name, expected] of invalid) {
    it(`${name}: ${expected.comment} -> ${expected.codes.join(', ')}`, async () => {
      const report = await verifyBundle(join(root, 'invalid', name, 'bundle'), expected.pin ?? {});
      const failing = report.checks.filter((c) => !c.ok).map((c) => c.code);
      expect(report.valid, expected.comment).toBe(false);
      for (const code of expected.codes) expect(failing, `${name}: ${expected.comment}`).toContain(code);
    });
  }
});

describe('the committed corpus', () => {
  const tempDir = useTempDirs();
  it('is exactly what the generator writes (run the generator if not)', async () => {
    const fresh = await tempDir();
    await writeVectors(fresh);
    expect(await snapshot(fresh)).toEqual(await snapshot(root));
  });
});

async function snapshot(dir: string, prefix = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) {
    const path = join(dir, name);
    const stat = await lstat(path);
    const key = `${prefix}${name}`;
    if (stat.isSymbolicLink()) out[key] = `link:${await readlink(path)}`;
    else if (stat.isDirectory()) Object.assign(out, await snapshot(path, `${key}/`));
    else out[key] = (await readFile(path)).toString('base64');
  }
  return out;
}
