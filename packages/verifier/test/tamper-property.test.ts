import { cp, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { verifyBundle } from '@lumenflow/verifier';
import { useTempDirs } from './support/temp-dir.js';

const tempDir = useTempDirs();
const source = join(import.meta.dirname, 'vectors', 'valid', 'policy-blocked', 'bundle');

describe('any single-byte change is rejected', () => {
  let names: string[] = [];
  beforeAll(async () => {
    // Empty files have no byte to change; every other file of the bundle is fair game.
    names = [];
    for (const name of (await readdir(source)).sort()) if ((await readFile(join(source, name))).length > 0) names.push(name);
  });

  it('covers every non-empty file of the bundle, metadata included', () => {
    expect(names).toEqual(expect.arrayContaining(['manifest.json', 'manifest.sig', 'verifier-public-key.pem', 'manifest.dsse.json', 'ask.json']));
  });

  it('changing one byte of any file, anywhere, to any other value makes the bundle invalid', async () => {
    const dir = join(await tempDir(), 'bundle');
    await cp(source, dir, { recursive: true });
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.nat(), fc.integer({ min: 1, max: 255 }), async (fileIndex, offset, xor) => {
        const name = names[fileIndex % names.length] ?? '';
        const path = join(dir, name);
        const original = await readFile(path);
        const changed = Buffer.from(original);
        const at = offset % changed.length;
        changed[at] = (changed[at] ?? 0) ^ xor;
        await writeFile(path, changed);
        try {
          // Unpinned on purpose: the change must be caught by the bundle's own checks, not by the pin.
          expect((await verifyBundle(dir)).valid, `${name}[${at}] ^= ${xor}`).toBe(false);
        } finally {
          await writeFile(path, original);
        }
      }),
      { numRuns: 200 },
    );
    // Restored: the copy verifies again, so each rejection above was due to the change.
    expect((await verifyBundle(dir)).valid).toBe(true);
  });

  it('never throws on arbitrary bytes as manifest.json, and rejects them', async () => {
    const dir = join(await tempDir(), 'bundle');
    await cp(source, dir, { recursive: true });
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), async (bytes) => {
        await writeFile(join(dir, 'manifest.json'), bytes);
        const report = await verifyBundle(dir);
        expect(report.valid).toBe(false);
      }),
      { numRuns: 100 },
    );
  });
});
