import { spawnSync } from 'node:child_process';
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyEd25519 } from '@lumenflow/verifier';
import { ed } from './support/noble.js';
import { requireOrSkip, runPython } from './support/python.js';

// Each vector states what our verifier, OpenSSL, libsodium and noble's strict mode
// say about it; the tools on this machine are run to confirm their columns. The rule
// under test (ADR 0026): we accept only what OpenSSL and libsodium both accept, and
// never a mixed-order key.

interface Vector {
  id: string;
  comment: string;
  message: string;
  publicKey: string;
  signature: string;
  expected: boolean;
  openssl: boolean;
  libsodium: boolean;
  nobleStrict: boolean;
}

const vectorDir = join(import.meta.dirname, 'ed25519-vectors');
const load = (name: string): Vector[] => (JSON.parse(readFileSync(join(vectorDir, name), 'utf8')) as { vectors: Vector[] }).vectors;
const files = { 'speccheck.json': load('speccheck.json'), 'constructed.json': load('constructed.json') };
const all = [...files['speccheck.json'], ...files['constructed.json']];
const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'hex'));
const SPKI_PREFIX = '302a300506032b6570032100';

let work: string;
let sodium: { status: 'ok'; verdicts: boolean[] } | { status: 'missing'; why: string };
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'lumenflow-ed25519-vectors-'));
  const run = runPython(join(import.meta.dirname, 'support', 'sodium-verify.py'), all);
  sodium = run.status === 'ok' ? { status: 'ok', verdicts: run.output as boolean[] } : run;
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function opensslVerdict(v: Vector): boolean {
  const dir = join(work, v.id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'msg'), hex(v.message));
  writeFileSync(join(dir, 'sig'), hex(v.signature));
  writeFileSync(join(dir, 'key.der'), hex(SPKI_PREFIX + v.publicKey));
  const args = ['pkeyutl', '-verify', '-pubin', '-keyform', 'DER', '-inkey', join(dir, 'key.der'), '-rawin', '-in', join(dir, 'msg'), '-sigfile', join(dir, 'sig')];
  const child = spawnSync('openssl', args, { encoding: 'utf8', timeout: 30_000 });
  if (child.error) throw child.error;
  // 0 "Signature Verified Successfully", 1 "Signature Verification Failure"; anything else is a harness fault.
  if (child.status !== 0 && !/Verification Failure/.test(child.stdout)) throw new Error(`openssl: ${child.stdout}${child.stderr}`);
  return child.status === 0;
}

function nodeCryptoVerdict(v: Vector): boolean {
  const key = createPublicKey({ key: Buffer.from(hex(SPKI_PREFIX + v.publicKey)), format: 'der', type: 'spki' });
  return cryptoVerify(null, hex(v.message), key, hex(v.signature));
}

function nobleVerdict(v: Vector): boolean {
  try {
    return ed.verify(hex(v.signature), hex(v.message), hex(v.publicKey), { zip215: false });
  } catch {
    return false;
  }
}

describe.each(Object.entries(files))('Ed25519 vectors in %s', (_file, vectors) => {
  it.each(vectors.map((v) => [v.id, v] as const))('%s', (_id, v) => {
    const what = `${v.id}: ${v.comment}`;
    expect(verifyEd25519(hex(v.signature), hex(v.message), hex(v.publicKey)), what).toBe(v.expected);
    expect(opensslVerdict(v), `openssl pkeyutl, ${what}`).toBe(v.openssl);
    expect(nodeCryptoVerdict(v), `node:crypto without our checks, ${what}`).toBe(v.openssl);
    expect(nobleVerdict(v), `noble { zip215: false }, ${what}`).toBe(v.nobleStrict);
    // The rule itself: whatever we accept, OpenSSL and libsodium accept too.
    if (v.expected) expect(v.openssl && v.libsodium, what).toBe(true);
  });
});

describe('libsodium (PyNaCl) on the same vectors', () => {
  it('gives the recorded verdict for every vector', (ctx) => {
    if (sodium.status === 'missing') {
      requireOrSkip(`libsodium cross-check needs Debian python3-nacl: ${sodium.why}`, (note) => ctx.skip(note));
      return;
    }
    const verdicts = sodium.verdicts;
    const got = all.map((v, i) => ({ id: v.id, libsodium: verdicts[i] }));
    expect(got).toEqual(all.map((v) => ({ id: v.id, libsodium: v.libsodium })));
  });
});

describe('the vector files', () => {
  it('cover every boundary the rule draws', () => {
    // Accepted by OpenSSL but refused by us, for each reason we refuse more.
    const stricter = all.filter((v) => v.openssl && !v.expected).map((v) => v.id);
    expect(stricter).toEqual(
      expect.arrayContaining(['speccheck-00', 'speccheck-03', 'speccheck-11', 'r-identity-prime-key', 'a-mixed-k-multiple-of-8', 'a-mixed-r-mixed-cancelling']),
    );
    // Cofactored-only signatures the previous (noble strict) verifier accepted.
    expect(all.filter((v) => v.nobleStrict && !v.openssl).map((v) => v.id)).toEqual(
      expect.arrayContaining(['speccheck-04', 'speccheck-05', 'r-mixed-prime-key', 'r-small-prime-key', 'a-mixed-k-not-multiple-of-8']),
    );
    expect(files['speccheck.json']).toHaveLength(12);
    expect(all.some((v) => v.expected)).toBe(true);
  });
});
