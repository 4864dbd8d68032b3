// Attacks found by red-teaming the verifier as a third party would, each pinned
// by a test that fails without its fix. Codes are asserted, never messages.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalize } from '@lumenflow/protocol';
import type { JsonValue } from '@lumenflow/protocol';
import { DSSE_PAYLOAD_TYPE, computeDsseKeyId, encodeDssePae, formatVerificationReport, verifyBundle } from '@lumenflow/verifier';
import type { SigningKey, VerificationReport } from '@lumenflow/verifier';
import { useTempDirs } from './support/temp-dir.js';
import { ed } from './support/noble.js';
import { loadTestKeys } from './support/vector-corpus.js';

const repoRoot = resolve(import.meta.dirname, '..', '..', '..');
const valid = join(import.meta.dirname, 'vectors', 'valid', 'happy', 'bundle');
const tempDir = useTempDirs();
const ORDER_8_POINT = 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a';

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/demo/trusted-compute.ts', ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, LUMENFLOW_DEBUG: '' },
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

async function copyValid(): Promise<string> {
  const dir = join(await tempDir(), 'run_0001');
  await cp(valid, dir, { recursive: true });
  return dir;
}

const dsseCode = (report: VerificationReport): string | undefined => report.checks.find((c) => c.name === 'dsse.envelope')?.code;

// Re-signs manifest.dsse.json over `payload` with the bundle's own (TEST-ONLY) key,
// so only the envelope rule under test can object.
async function resignDsse(dir: string, key: SigningKey, payload: Uint8Array): Promise<void> {
  const sig = key.sign(encodeDssePae(DSSE_PAYLOAD_TYPE, payload));
  const envelope = {
    payloadType: DSSE_PAYLOAD_TYPE,
    payload: Buffer.from(payload).toString('base64'),
    signatures: [{ keyid: computeDsseKeyId(key.keyId), sig: Buffer.from(sig).toString('base64') }],
  };
  await writeFile(join(dir, 'manifest.dsse.json'), canonicalize(envelope));
}

async function readStatement(dir: string): Promise<{ subject: Array<{ name: string }> } & Record<string, unknown>> {
  const envelope = JSON.parse(await readFile(join(dir, 'manifest.dsse.json'), 'utf8')) as { payload: string };
  return JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as { subject: Array<{ name: string }> } & Record<string, unknown>;
}

describe('red team: terminal escape injection through the human report', () => {
  it('escapes control characters in bundle-derived names, so an entry cannot conceal the INVALID verdict', async () => {
    const dir = await copyValid();
    // SGR 8 (conceal) hides everything printed after it; a fake verdict precedes it.
    await writeFile(join(dir, 'x\nVALID: every check passed.\u001b[8m'), 'x');
    const report = await verifyBundle(dir);
    expect(report.checks.find((c) => c.name === 'bundle.entries')?.code).toBe('UNEXPECTED_ENTRY');
    const text = formatVerificationReport(report);
    // eslint-disable-next-line no-control-regex -- the escape byte is what must not appear
    expect(text).not.toMatch(/\u001b/);
    expect(text.split('\n').filter((line) => line.startsWith('VALID'))).toEqual([]);
    expect(text).toContain('INVALID:');
  });

  it('escapes C1 controls and bidi overrides that JSON quoting leaves alone', async () => {
    const dir = await copyValid();
    await writeFile(join(dir, 'a\u009b2Jb\u202eexe.txt'), 'x');
    const text = formatVerificationReport(await verifyBundle(dir));
    expect(text).not.toMatch(/[\u009b\u202e]/);
  });
});

describe('red team: DSSE envelope has one signed spelling', () => {
  it('refuses a payload that is valid JSON but not RFC 8785 canonical, even when signed by the bundle key', async () => {
    const { key } = await loadTestKeys();
    const dir = await copyValid();
    const statement = await readStatement(dir);
    await resignDsse(dir, key, new TextEncoder().encode(JSON.stringify(statement, null, 2)));
    const report = await verifyBundle(dir);
    expect(report.valid).toBe(false);
    expect(dsseCode(report)).toBe('DSSE_INVALID');
  });

  it('refuses subjects out of name order, even when signed by the bundle key', async () => {
    const { key } = await loadTestKeys();
    const dir = await copyValid();
    const statement = await readStatement(dir);
    statement.subject.reverse();
    await resignDsse(dir, key, new TextEncoder().encode(canonicalize(statement)));
    const report = await verifyBundle(dir);
    expect(report.valid).toBe(false);
    expect(dsseCode(report)).toBe('DSSE_SUBJECTS_MISMATCH');
  });
});

describe('red team: a signature only the cofactored equation accepts', () => {
  // The signer's own key makes a signature whose R carries an order-8 component:
  // [8][S]B = [8]R + [8][k]A holds, [S]B = R + [k]A does not, so OpenSSL refuses it.
  // The verifier before ADR 0026 (noble, cofactored) passed such a bundle with exit 0.
  async function cofactoredOnly(message: Uint8Array): Promise<Uint8Array> {
    const pem = await readFile(join(import.meta.dirname, 'fixtures', 'TEST-ONLY-signing-key.pem'), 'utf8');
    const seed = Buffer.from(pem.split('\n')[1] ?? '', 'base64').subarray(16);
    const { scalar, pointBytes } = ed.utils.getExtendedPublicKey(Uint8Array.from(seed));
    const L = 2n ** 252n + 27742317777372353535851937790883648493n;
    const r = 0x1234567890abcdefn;
    const R = ed.Point.BASE.multiply(r).add(ed.Point.fromBytes(Uint8Array.from(Buffer.from(ORDER_8_POINT, 'hex')))).toBytes();
    const k = BigInt(`0x${Buffer.from(createHash('sha512').update(R).update(pointBytes).update(message).digest()).reverse().toString('hex')}`) % L;
    const S = (r + k * scalar) % L;
    return Uint8Array.from([...R, ...Buffer.from(S.toString(16).padStart(64, '0'), 'hex').reverse()]);
  }

  it('fails signature.valid, and --verify --expect-key-id exits 1, as openssl pkeyutl refuses it', async () => {
    const { key } = await loadTestKeys();
    const dir = await copyValid();
    const manifest = await readFile(join(dir, 'manifest.json'));
    const signature = await cofactoredOnly(manifest);
    expect(ed.verify(signature, manifest, key.publicKey, { zip215: false })).toBe(true);
    await writeFile(join(dir, 'manifest.sig'), signature);
    const report = await verifyBundle(dir, { expectKeyId: key.keyId });
    expect(report.checks.find((c) => c.name === 'signature.valid')?.code).toBe('SIGNATURE_INVALID');
    expect(cli('--verify', dir, '--expect-key-id', key.keyId).status).toBe(1);
    const openssl = spawnSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', join(dir, 'verifier-public-key.pem'), '-rawin', '-in', join(dir, 'manifest.json'), '-sigfile', join(dir, 'manifest.sig')], { encoding: 'utf8' });
    expect(openssl.stdout).toContain('Signature Verification Failure');
  });
});

describe('DSSE keyid: bare hex, and the sha256: spelling of earlier bundles', () => {
  async function setKeyid(dir: string, keyid: string): Promise<void> {
    const envelope = JSON.parse(await readFile(join(dir, 'manifest.dsse.json'), 'utf8')) as { signatures: Array<{ keyid: string }> };
    const first = envelope.signatures[0];
    if (first) first.keyid = keyid;
    await writeFile(join(dir, 'manifest.dsse.json'), canonicalize(envelope as unknown as JsonValue));
  }

  it('writes the key id as bare lowercase hex and accepts the legacy sha256: spelling of the same key', async () => {
    const { key } = await loadTestKeys();
    const envelope = JSON.parse(await readFile(join(valid, 'manifest.dsse.json'), 'utf8')) as { signatures: Array<{ keyid: string }> };
    expect(envelope.signatures[0]?.keyid).toBe(key.keyId.slice('sha256:'.length));
    const dir = await copyValid();
    await setKeyid(dir, key.keyId);
    const report = await verifyBundle(dir);
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
  });

  it.each([
    ['upper-case hex', (id: string) => id.slice(7).toUpperCase()],
    ['another prefix', (id: string) => `sha512:${id.slice(7)}`],
    ['a truncated id', (id: string) => id.slice(7, 39)],
    ['another key', () => 'ab'.repeat(32)],
  ])('refuses %s as DSSE_KEY_ID_MISMATCH', async (_label, spell) => {
    const { key } = await loadTestKeys();
    const dir = await copyValid();
    await setKeyid(dir, spell(key.keyId));
    const report = await verifyBundle(dir);
    expect(report.valid).toBe(false);
    expect(dsseCode(report)).toBe('DSSE_KEY_ID_MISMATCH');
  });
});

describe('red team: the report names the manifest bytes it judged', () => {
  it('carries manifestSha256, the SHA-256 of manifest.json as read, so a later reader can bind to it', async () => {
    const report = await verifyBundle(valid);
    const expected = createHash('sha256').update(await readFile(join(valid, 'manifest.json'))).digest('hex');
    expect(report.valid).toBe(true);
    expect(report.manifestSha256).toBe(expected);
  });
});

describe('red team: --trusted-key that is not a small regular file (real process)', () => {
  it('refuses a device such as /dev/zero with exit 2 instead of reading it forever', () => {
    const run = cli('--verify', valid, '--trusted-key', '/dev/zero');
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^error TRUSTED_KEY_INVALID: /);
    expect(run.stderr).not.toContain('    at ');
  });

  it('refuses a FIFO with exit 2 instead of waiting for a writer', async () => {
    const fifo = join(await tempDir(), 'pin.pem');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const run = cli('--verify', valid, '--trusted-key', fifo);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^error TRUSTED_KEY_INVALID: /);
  });

  it('refuses a directory as unreadable', async () => {
    const run = cli('--verify', valid, '--trusted-key', await tempDir());
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^error TRUSTED_KEY_UNREADABLE: /);
  });
});

describe('red team: --json keeps stdout parseable on exit-2 paths (real process)', () => {
  it.each([
    ['a missing directory', ['--verify', '/nonexistent/bundle', '--json'], 'BUNDLE_NOT_FOUND'],
    ['a malformed key id', ['--verify', valid, '--expect-key-id', 'sha256:XYZ', '--json'], 'EXPECTED_KEY_ID_INVALID'],
    ['a private key as the pin', ['--verify', valid, '--trusted-key', join(import.meta.dirname, 'fixtures', 'TEST-ONLY-signing-key.pem'), '--json'], 'TRUSTED_KEY_INVALID'],
  ])('prints { valid: false, error: { code } } for %s', (_label, args, code) => {
    const run = cli(...args);
    expect(run.status).toBe(2);
    const out = JSON.parse(run.stdout) as { valid: boolean; error: { code: string; exitCode: number } };
    expect(out.valid).toBe(false);
    expect(out.error.code).toBe(code);
    expect(out.error.exitCode).toBe(2);
    expect(run.stderr).toMatch(new RegExp(`^error ${code}: `));
  });
});

describe('red team: a reader that closes stdout early (real process)', () => {
  it('gets no stack trace when the pipe closes before the report is written (`--verify … | head`)', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo/trusted-compute.ts', '--verify', valid, '--json'], {
      cwd: repoRoot,
      env: { ...process.env, LUMENFLOW_DEBUG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Close our end at once: every write the CLI makes then fails with EPIPE.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const code = await new Promise<number | null>((done) => child.on('close', done));
    expect(stderr).not.toContain('    at ');
    expect(stderr).not.toContain('EPIPE');
    expect(code).toBe(0);
  });
});
