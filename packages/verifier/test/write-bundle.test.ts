import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BUNDLE_METADATA_FILES,
  REQUIRED_ARTIFACTS,
  parseSigningKeyPem,
  verifyBundle,
  writeBundle,
} from '@lumenflow/verifier';
import type { SigningKey } from '@lumenflow/verifier';
import { canonicalize, parseStrictJsonBytes } from '@lumenflow/protocol';
import { codeOf } from './support/code-of.js';
import { useTempDirs } from './support/temp-dir.js';
import { sampleHappyArtifacts, samplePolicyBlockedArtifacts } from './support/sample-artifacts.js';

const tempDir = useTempDirs();
const repoRoot = resolve(import.meta.dirname, '..', '..', '..');
const SEED = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
const PKCS8_DER = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), SEED]);
const PKCS8_PEM = `-----BEGIN PRIVATE KEY-----\n${PKCS8_DER.toString('base64')}\n-----END PRIVATE KEY-----\n`;
const key: SigningKey = parseSigningKeyPem(PKCS8_PEM);
const AT = '2026-11-23T10:00:00.000Z';
const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

describe('writeBundle then verifyBundle', () => {
  for (const [mode, artifacts] of [
    ['happy', sampleHappyArtifacts()],
    ['policy-blocked', samplePolicyBlockedArtifacts()],
  ] as const) {
    it(`round-trips a ${mode} run, pinned both ways`, async () => {
      const outDir = await tempDir();
      const { dir, keyId } = await writeBundle({ outDir, runId: 'run-1', mode, createdAt: AT, artifacts, signingKey: key });
      expect(dir).toBe(join(outDir, 'run-1'));
      expect(keyId).toBe(key.keyId);
      expect((await readdir(dir)).sort()).toEqual([...REQUIRED_ARTIFACTS, ...BUNDLE_METADATA_FILES].sort());
      const report = await verifyBundle(dir, { trustedPublicKeyPem: key.publicKeyPem, expectKeyId: key.keyId });
      expect(report.checks.filter((c) => !c.ok)).toEqual([]);
      expect([report.valid, report.signerPinned, report.runId, report.mode, report.keyId]).toEqual([true, true, 'run-1', mode, key.keyId]);
      // Nothing but the run directory is left in outDir: the temp sibling is gone.
      expect(await readdir(outDir)).toEqual(['run-1']);
    });
  }

  it('writes manifest.json as RFC 8785 bytes with the documented fields', async () => {
    const outDir = await tempDir();
    const { dir } = await writeBundle({ outDir, runId: 'run-2', mode: 'happy', createdAt: AT, artifacts: sampleHappyArtifacts(), signingKey: key });
    const bytes = await readFile(join(dir, 'manifest.json'));
    const manifest = parseStrictJsonBytes(bytes) as Record<string, unknown>;
    expect(canonicalize(manifest)).toBe(bytes.toString('utf8'));
    expect(Object.keys(manifest).sort()).toEqual(['artifacts', 'bundleKind', 'createdAt', 'mode', 'requiredArtifacts', 'runId', 'schemaVersion', 'signer']);
    expect(manifest['requiredArtifacts']).toEqual(REQUIRED_ARTIFACTS);
    expect(manifest['signer']).toEqual({ keyId: key.keyId, algorithm: 'ed25519' });
    const ask = await readFile(join(dir, 'ask.json'));
    expect((manifest['artifacts'] as Array<Record<string, unknown>>)[0]).toEqual({
      path: 'ask.json',
      sha256: createHash('sha256').update(ask).digest('hex'),
      size: ask.length,
    });
    expect((await readFile(join(dir, 'manifest.sig'))).length).toBe(64);
  });

  it('never writes the private key into the bundle, in any encoding', async () => {
    const outDir = await tempDir();
    const { dir } = await writeBundle({ outDir, runId: 'run-3', mode: 'happy', createdAt: AT, artifacts: sampleHappyArtifacts(), signingKey: key });
    const needles = [SEED, Buffer.from(SEED.toString('hex')), Buffer.from(SEED.toString('base64').slice(0, 24)), Buffer.from(PKCS8_DER.toString('base64').slice(0, 40))];
    for (const name of await readdir(dir)) {
      const bytes = await readFile(join(dir, name));
      for (const needle of needles) expect(bytes.includes(needle), `${name} holds key material`).toBe(false);
    }
  });
});

describe.skipIf(!hasOpenssl)('OpenSSL 3 interop', () => {
  it('openssl pkeyutl verifies manifest.sig, and keyId matches openssl pkey | sha256', async () => {
    const outDir = await tempDir();
    const { dir } = await writeBundle({ outDir, runId: 'run-ossl', mode: 'happy', createdAt: AT, artifacts: sampleHappyArtifacts(), signingKey: key });
    const verify = (manifest: string) =>
      spawnSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', 'verifier-public-key.pem', '-rawin', '-in', manifest, '-sigfile', 'manifest.sig'], {
        cwd: dir,
        encoding: 'utf8',
      });
    const ok = verify('manifest.json');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('Signature Verified Successfully');
    const der = spawnSync('openssl', ['pkey', '-pubin', '-in', join(dir, 'verifier-public-key.pem'), '-outform', 'DER']);
    expect(der.status).toBe(0);
    expect(`sha256:${createHash('sha256').update(der.stdout).digest('hex')}`).toBe(key.keyId);
    // A changed manifest must fail OpenSSL too; the copy lives outside the bundle.
    const tampered = join(outDir, 'tampered.json');
    await writeFile(tampered, (await readFile(join(dir, 'manifest.json'), 'utf8')).replace('"happy"', '"HAPPY"'));
    expect(verify(tampered).status).not.toBe(0);
  });

  it('a key made by openssl genpkey signs bundles this verifier accepts', async () => {
    const gen = spawnSync('openssl', ['genpkey', '-algorithm', 'ed25519'], { encoding: 'utf8' });
    expect(gen.status).toBe(0);
    const osslKey = parseSigningKeyPem(gen.stdout);
    const outDir = await tempDir();
    const { dir } = await writeBundle({ outDir, runId: 'run-gen', mode: 'happy', createdAt: AT, artifacts: sampleHappyArtifacts(), signingKey: osslKey });
    expect((await verifyBundle(dir, { trustedPublicKeyPem: osslKey.publicKeyPem })).valid).toBe(true);
  });
});

describe('atomic, immutable writes', () => {
  it('refuses an existing run directory and leaves it untouched', async () => {
    const outDir = await tempDir();
    await mkdir(join(outDir, 'run-x'));
    await writeFile(join(outDir, 'run-x', 'keep.txt'), 'original');
    const write = writeBundle({ outDir, runId: 'run-x', mode: 'happy', createdAt: AT, artifacts: sampleHappyArtifacts(), signingKey: key });
    expect(await codeOf(write)).toBe('BUNDLE_EXISTS');
    expect(await readdir(join(outDir, 'run-x'))).toEqual(['keep.txt']);
    expect(await readFile(join(outDir, 'run-x', 'keep.txt'), 'utf8')).toBe('original');
    expect(await readdir(outDir)).toEqual(['run-x']);
  });

  it('refuses to write the same run twice', async () => {
    const outDir = await tempDir();
    const opts = { outDir, runId: 'run-y', mode: 'happy' as const, createdAt: AT, artifacts: sampleHappyArtifacts(), signingKey: key };
    const { dir } = await writeBundle(opts);
    const before = await readFile(join(dir, 'manifest.json'));
    expect(await codeOf(writeBundle({ ...opts, createdAt: '2026-11-24T10:00:00.000Z' }))).toBe('BUNDLE_EXISTS');
    expect((await readFile(join(dir, 'manifest.json'))).equals(before)).toBe(true);
  });

  it.each([
    ['a run id that is a path', { runId: '../escape' }],
    ['an empty run id', { runId: '' }],
    ['a bad timestamp', { createdAt: 'yesterday' }],
    ['a missing required artifact', { artifacts: { 'ask.json': '{}' } }],
    ['an artifact named like metadata', { artifacts: { ...sampleHappyArtifacts(), 'manifest.sig': 'x' } }],
    ['an artifact path with a separator', { artifacts: { ...sampleHappyArtifacts(), 'a/b': 'x' } }],
  ])('refuses %s with BUNDLE_INPUT_INVALID and writes nothing', async (_label, override) => {
    const outDir = await tempDir();
    const opts = { outDir, runId: 'run-z', mode: 'happy' as const, createdAt: AT, artifacts: sampleHappyArtifacts(), signingKey: key, ...override };
    expect(await codeOf(writeBundle(opts))).toBe('BUNDLE_INPUT_INVALID');
    expect(await readdir(outDir)).toEqual([]);
  });

  // A real process under a file-size limit fails part-way through the big artifact.
  const child = join(import.meta.dirname, 'support', 'write-child.ts');
  // Node ignores SIGXFSZ, so past the limit write() fails with EFBIG instead of killing the process.
  const runChild = (outDir: string) =>
    spawnSync('bash', ['-c', 'ulimit -f 512; exec "$0" --import tsx "$@"', process.execPath, child, outDir, 'run-big', String(4 * 1024 * 1024)], {
      cwd: repoRoot,
      encoding: 'utf8',
    });

  it('an I/O error mid-write leaves no final directory and no temp directory', async () => {
    const outDir = await tempDir();
    const result = runChild(outDir);
    expect(JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}')).toEqual({ ok: false, code: 'BUNDLE_WRITE_FAILED' });
    expect(await readdir(outDir)).toEqual([]);
  });

  it('a process killed (SIGKILL) mid-write leaves nothing at the final path', async () => {
    const outDir = await tempDir();
    // Large enough that writing and fsyncing it outlasts the poll below by far.
    const proc = spawn(process.execPath, ['--import', 'tsx', child, outDir, 'run-big', String(64 * 1024 * 1024)], { cwd: repoRoot, stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((done) => proc.on('exit', (_code, signal) => done(signal)));
    let sawTemp = false;
    while (!sawTemp && proc.exitCode === null) {
      sawTemp = (await readdir(outDir)).some((name) => name.startsWith('.run-big.tmp-'));
      if (!sawTemp) await new Promise((r) => setTimeout(r, 5));
    }
    proc.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(sawTemp).toBe(true);
    await expect(lstat(join(outDir, 'run-big'))).rejects.toMatchObject({ code: 'ENOENT' });
    // Only the dot-prefixed temp sibling remains, which readers of run directories skip.
    for (const name of await readdir(outDir)) expect(name.startsWith('.run-big.tmp-')).toBe(true);
  });
});
