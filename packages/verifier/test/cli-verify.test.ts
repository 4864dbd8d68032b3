import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { VerificationReport } from '@lumenflow/verifier';
import { useTempDirs } from './support/temp-dir.js';

const repoRoot = resolve(import.meta.dirname, '..', '..', '..');
const vectors = join(import.meta.dirname, 'vectors');
const valid = join(vectors, 'valid', 'happy', 'bundle');
const tempDir = useTempDirs();

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/demo/trusted-compute.ts', ...args], { cwd: repoRoot, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('trusted-compute --verify (real process)', () => {
  it('exits 0 on a valid bundle and says plainly that the signer is not pinned', () => {
    const run = cli('--verify', valid);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('NOT pinned');
    expect(run.stderr).toBe('');
  });

  it('exits 0 with a pinned key or key id, and prints the report as JSON with --json', () => {
    const pem = join(valid, 'verifier-public-key.pem');
    const byKey = cli('--verify', valid, '--trusted-key', pem, '--json');
    expect(byKey.status).toBe(0);
    const report = JSON.parse(byKey.stdout) as VerificationReport;
    expect([report.valid, report.signerPinned]).toEqual([true, true]);
    const byId = cli('--verify', valid, '--expect-key-id', report.keyId ?? '', '--json');
    expect(byId.status).toBe(0);
    expect((JSON.parse(byId.stdout) as VerificationReport).valid).toBe(true);
  });

  it('exits 1 on invalid evidence, naming the failing code in both forms', () => {
    const dir = join(vectors, 'invalid', 'artifact-modified', 'bundle');
    const human = cli('--verify', dir);
    expect(human.status).toBe(1);
    expect(human.stdout).toContain('ARTIFACT_DIGEST_MISMATCH');
    const json = cli('--verify', dir, '--json');
    expect(json.status).toBe(1);
    const report = JSON.parse(json.stdout) as VerificationReport;
    expect(report.valid).toBe(false);
    expect(report.checks.map((c) => c.code)).toContain('ARTIFACT_DIGEST_MISMATCH');
  });

  it('exits 1 when a re-signed bundle meets a pin', () => {
    const run = cli('--verify', join(vectors, 'invalid', 'resigned-other-key-trusted-key', 'bundle'), '--trusted-key', join(valid, 'verifier-public-key.pem'), '--json');
    expect(run.status).toBe(1);
    expect((JSON.parse(run.stdout) as VerificationReport).checks.find((c) => c.name === 'signer.trusted')?.code).toBe('SIGNER_UNTRUSTED');
  });

  it.each([
    ['a missing directory', ['--verify', '/nonexistent/bundle'], 'BUNDLE_NOT_FOUND'],
    ['a file instead of a directory', ['--verify', join(valid, 'ask.json')], 'BUNDLE_NOT_DIRECTORY'],
    ['an unreadable pin file', ['--verify', valid, '--trusted-key', '/nonexistent/key.pem'], 'TRUSTED_KEY_UNREADABLE'],
    ['a pin file that is not a key', ['--verify', valid, '--trusted-key', join(valid, 'ask.json')], 'TRUSTED_KEY_INVALID'],
    ['a malformed key id', ['--verify', valid, '--expect-key-id', 'sha256:XYZ'], 'EXPECTED_KEY_ID_INVALID'],
  ])('exits 2 on %s with one line and no stack trace', (_label, args, code) => {
    const run = cli(...args);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(new RegExp(`^error ${code}: [^\\n]*\\n$`));
  });

  it('exits 2 on a small-order pinned key', async () => {
    const pem = join(await tempDir(), 'weak.pem');
    await writeFile(pem, `-----BEGIN PUBLIC KEY-----\n${Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.alloc(32)]).toString('base64')}\n-----END PUBLIC KEY-----\n`);
    const run = cli('--verify', valid, '--trusted-key', pem);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^error TRUSTED_KEY_INVALID: /);
  });
});
