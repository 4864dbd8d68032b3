// pnpm bench:ed25519 — Ed25519 sign/s and verify/s on this machine, for each path:
//   noble strict     @noble/ed25519 3 ({ zip215: false }), the pure-JS path the verifier used before ADR 0026
//   node:crypto      OpenSSL with a KeyObject made once per key, no extra checks (the ceiling)
//   node:crypto/call OpenSSL importing the key on every call (why KeyObjects are cached)
//   verifier         @lumenflow/verifier: SigningKey.sign and verifyEd25519, OpenSSL with cached keys plus the strict checks
// Messages are 256 bytes, about the size of a signed request or a receipt.
// Each figure is the best of five timed rounds (interleaved across paths), after a warm-up.
import { createPrivateKey, createPublicKey, randomBytes, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { encodePublicKeyDer, generateSigningKeyPem, parseSigningKeyPem, verifyEd25519 } from '@lumenflow/verifier';

ed.hashes.sha512 = sha512;

const ROUND_MS = Number(process.env['BENCH_ROUND_MS'] ?? 400);
const ROUNDS = 5;
const MESSAGES = 64;

const pem = generateSigningKeyPem();
const key = parseSigningKeyPem(pem);
const seed = Uint8Array.from(createPrivateKey(pem).export({ format: 'der', type: 'pkcs8' }).subarray(16));
const publicKey = key.publicKey;
const spki = Buffer.from(encodePublicKeyDer(publicKey));
const privateObject = createPrivateKey(pem);
const publicObject = createPublicKey({ key: spki, format: 'der', type: 'spki' });
const messages = Array.from({ length: MESSAGES }, () => randomBytes(256));
const signatures = messages.map((m) => key.sign(m));

/** Operations per second over one round of ROUND_MS. */
function rate(op: (i: number) => unknown): number {
  let count = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(ROUND_MS) * 1_000_000n;
  let now = start;
  while (now < end) {
    for (let i = 0; i < 16; i++) op(count++);
    now = process.hrtime.bigint();
  }
  return count / (Number(now - start) / 1e9);
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`bench self-check failed: ${what}`);
}
// Every path must agree on what it measures, or the figures compare different work.
check(Buffer.from(ed.sign(messages[0] as Uint8Array, seed)).equals(Buffer.from(signatures[0] as Uint8Array)), 'noble and OpenSSL sign alike');
check(ed.verify(signatures[0] as Uint8Array, messages[0] as Uint8Array, publicKey, { zip215: false }), 'noble verifies');
check(verifyEd25519(signatures[0] as Uint8Array, messages[0] as Uint8Array, publicKey), 'verifier verifies');

const pick = <T>(list: T[], i: number): T => list[i % list.length] as T;
const paths: Array<{ name: string; sign: (i: number) => unknown; verify: (i: number) => unknown }> = [
  {
    name: 'noble strict (pure JS, before)',
    sign: (i) => ed.sign(pick(messages, i), seed),
    verify: (i) => ed.verify(pick(signatures, i), pick(messages, i), publicKey, { zip215: false }),
  },
  {
    name: 'node:crypto, key imported per call',
    sign: (i) => cryptoSign(null, pick(messages, i), createPrivateKey(pem)),
    verify: (i) => cryptoVerify(null, pick(messages, i), createPublicKey({ key: spki, format: 'der', type: 'spki' }), pick(signatures, i)),
  },
  {
    name: 'node:crypto, cached KeyObject',
    sign: (i) => cryptoSign(null, pick(messages, i), privateObject),
    verify: (i) => cryptoVerify(null, pick(messages, i), publicObject, pick(signatures, i)),
  },
  {
    name: 'verifier (cached KeyObject + strict checks)',
    sign: (i) => key.sign(pick(messages, i)),
    verify: (i) => verifyEd25519(pick(signatures, i), pick(messages, i), publicKey),
  },
];
// Rounds interleave the paths, so a burst of load from elsewhere on a shared machine
// lands on all of them rather than on whichever ran last; each keeps its best round.
const rows: Array<[string, number, number]> = paths.map((p) => [p.name, 0, 0]);
for (const p of paths) {
  for (let i = 0; i < 50; i++) {
    p.sign(i);
    p.verify(i);
  }
}
for (let round = 0; round < ROUNDS; round++) {
  paths.forEach((p, n) => {
    const row = rows[n] as [string, number, number];
    row[1] = Math.max(row[1], rate(p.sign));
    row[2] = Math.max(row[2], rate(p.verify));
  });
}

const baseline = rows[0] as [string, number, number];
const width = Math.max(...rows.map((r) => r[0].length));
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US').padStart(9);
const times = (n: number, base: number): string => `${(n / base).toFixed(1)}x`.padStart(7);
process.stdout.write(`Ed25519 on ${process.version}, OpenSSL ${process.versions.openssl}, 256-byte messages, best of ${ROUNDS} x ${ROUND_MS} ms\n`);
process.stdout.write(`${'path'.padEnd(width)}    sign/s  vs noble   verify/s  vs noble\n`);
for (const [name, sign, verify] of rows) {
  process.stdout.write(`${name.padEnd(width)} ${fmt(sign)} ${times(sign, baseline[1])}  ${fmt(verify)} ${times(verify, baseline[2])}\n`);
}
