import { spawnSync } from 'node:child_process';
import { cp, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatVerificationReport, verifyBundle } from '@lumenflow/verifier';
import { codeOf } from './support/code-of.js';
import { useTempDirs } from './support/temp-dir.js';

const tempDir = useTempDirs();
const valid = join(import.meta.dirname, 'vectors', 'valid', 'happy', 'bundle');

async function copyValid(): Promise<string> {
  const dir = join(await tempDir(), 'bundle');
  await cp(valid, dir, { recursive: true });
  return dir;
}

const failing = (report: Awaited<ReturnType<typeof verifyBundle>>): Array<string | undefined> =>
  report.checks.filter((c) => !c.ok).map((c) => c.code);

describe('verifyBundle: cases built at test time', () => {
  it.skipIf(spawnSync('mkfifo', ['--version']).status !== 0)('reports a FIFO in place of an artifact without blocking on it', async () => {
    const dir = await copyValid();
    await rm(join(dir, 'ask.json'));
    expect(spawnSync('mkfifo', [join(dir, 'ask.json')]).status).toBe(0);
    const report = await verifyBundle(dir);
    expect(report.valid).toBe(false);
    expect(failing(report)).toEqual(expect.arrayContaining(['NOT_REGULAR_FILE', 'ARTIFACT_UNREADABLE']));
  });

  it('reports a dangling symbolic link', async () => {
    const dir = await copyValid();
    await symlink('/nonexistent/target', join(dir, 'extra-link'));
    expect(failing(await verifyBundle(dir))).toEqual(expect.arrayContaining(['NOT_REGULAR_FILE', 'UNEXPECTED_ENTRY']));
  });

  it('refuses a bundle path that is a link, a file, or missing, with a thrown code', async () => {
    const root = await tempDir();
    await symlink(valid, join(root, 'link'));
    expect(await codeOf(verifyBundle(join(root, 'link')))).toBe('BUNDLE_NOT_DIRECTORY');
    expect(await codeOf(verifyBundle(join(valid, 'ask.json')))).toBe('BUNDLE_NOT_DIRECTORY');
    expect(await codeOf(verifyBundle(join(root, 'missing')))).toBe('BUNDLE_NOT_FOUND');
  });

  it('throws on a malformed pin instead of reporting the bundle invalid', async () => {
    expect(await codeOf(verifyBundle(valid, { trustedPublicKeyPem: 'nope' }))).toBe('TRUSTED_KEY_INVALID');
    expect(await codeOf(verifyBundle(valid, { expectKeyId: 'sha256:ABC' }))).toBe('EXPECTED_KEY_ID_INVALID');
  });
});

describe('formatVerificationReport', () => {
  it('says VALID and NOT pinned for an unpinned valid bundle', async () => {
    const text = formatVerificationReport(await verifyBundle(valid));
    expect(text).toContain('VALID, but the signer is NOT pinned');
    expect(text).toContain('SIGNER_NOT_PINNED');
  });

  it('says VALID without the warning when pinned', async () => {
    const report = await verifyBundle(valid);
    const text = formatVerificationReport(await verifyBundle(valid, { expectKeyId: report.keyId ?? '' }));
    expect(text).toContain('VALID: every check passed');
    expect(text).not.toContain('NOT pinned');
  });

  it('lists each failing check with its code and says INVALID', async () => {
    const text = formatVerificationReport(await verifyBundle(join(import.meta.dirname, 'vectors', 'invalid', 'wrong-key', 'bundle')));
    expect(text).toMatch(/FAIL +signature\.valid +\[SIGNATURE_INVALID\]/);
    expect(text).toMatch(/FAIL +signer\.key-id +\[KEY_ID_MISMATCH\]/);
    expect(text).toContain('INVALID:');
  });
});
