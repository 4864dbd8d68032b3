// Builds test/ed25519-vectors/constructed.json: signatures made to sit exactly on the
// boundaries between verifiers (small-order and mixed-order R and A, non-canonical
// R, S >= L), from fixed scalars so the file is the same on every run. The verdict
// each tool must give is stated from the construction, not by running the tools;
// ed25519-vectors.test.ts then runs the tools and compares.
//   pnpm --filter @lumenflow/verifier exec tsx test/support/generate-ed25519-vectors.ts
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ed } from './noble.js';

const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const B = ed.Point.BASE;
// A point of order 8 (canonical encoding, sign bit clear).
const T8 = ed.Point.fromBytes(hexBytes('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'));

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}
function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
function leToNumber(bytes: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(bytes).reverse().toString('hex') || '0'}`);
}
function numberToLe32(n: bigint): Uint8Array {
  return Uint8Array.from(Buffer.from(n.toString(16).padStart(64, '0'), 'hex').reverse());
}
// k = SHA-512(R || A || M) mod L, over the exact bytes given (RFC 8032 §5.1.7 step 2).
function challenge(r: Uint8Array, a: Uint8Array, m: Uint8Array): bigint {
  return leToNumber(createHash('sha512').update(r).update(a).update(m).digest()) % L;
}
function mul(point: typeof B, n: bigint): typeof B {
  return point.multiply(((n % L) + L) % L, false);
}
function signature(r: Uint8Array, s: bigint): string {
  return toHex(r) + toHex(numberToLe32(s));
}

interface Vector {
  id: string;
  comment: string;
  message: string;
  publicKey: string;
  signature: string;
  /** verifyEd25519's verdict. */
  expected: boolean;
  /** Cofactorless, S < L, R compared as bytes: `openssl pkeyutl -verify -rawin`. */
  openssl: boolean;
  /** libsodium 1.0.18 crypto_sign_verify_detached, as PyNaCl calls it. */
  libsodium: boolean;
  /** @noble/ed25519 3 with { zip215: false }: cofactored, canonical encodings, no small-order A. */
  nobleStrict: boolean;
}

const vectors: Vector[] = [];
const secret = (label: string): { a: bigint; A: Uint8Array; r: bigint } => {
  const seed = createHash('sha256').update(`lumenflow ed25519 vector key ${label}`).digest();
  const ext = ed.utils.getExtendedPublicKey(seed);
  const r = leToNumber(createHash('sha512').update(`nonce ${label}`).digest()) % L;
  return { a: ext.scalar, A: ext.pointBytes, r };
};
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

{
  const { a, A, r } = secret('honest');
  const m = text('an honest signature');
  const R = mul(B, r).toBytes();
  vectors.push({
    id: 'honest',
    comment: 'prime-order A, R = [r]B, S = r + k·a: every verifier accepts',
    message: toHex(m),
    publicKey: toHex(A),
    signature: signature(R, (r + challenge(R, A, m) * a) % L),
    expected: true,
    openssl: true,
    libsodium: true,
    nobleStrict: true,
  });
  const sig = (r + challenge(R, A, m) * a) % L;
  vectors.push({
    id: 's-plus-l',
    comment: 'the honest signature with S + L: same value mod L, but S >= L is refused by all strict verifiers',
    message: toHex(m),
    publicKey: toHex(A),
    signature: signature(R, sig + L),
    expected: false,
    openssl: false,
    libsodium: false,
    nobleStrict: false,
  });
}
{
  const { a, A, r } = secret('mixed-r');
  const m = text('R carries an order-8 component');
  const R = mul(B, r).add(T8).toBytes();
  vectors.push({
    id: 'r-mixed-prime-key',
    comment: 'prime-order A, R = [r]B + T8 (mixed order), S = r + k·a: only the cofactored equation holds',
    message: toHex(m),
    publicKey: toHex(A),
    signature: signature(R, (r + challenge(R, A, m) * a) % L),
    expected: false,
    openssl: false,
    libsodium: false,
    nobleStrict: true,
  });
}
{
  const { a, A } = secret('small-r');
  const m = text('R is a point of order 8');
  const R = T8.toBytes();
  vectors.push({
    id: 'r-small-prime-key',
    comment: 'prime-order A, R = T8 (order 8), S = k·a: only the cofactored equation holds',
    message: toHex(m),
    publicKey: toHex(A),
    signature: signature(R, (challenge(R, A, m) * a) % L),
    expected: false,
    openssl: false,
    libsodium: false,
    nobleStrict: true,
  });
}
{
  const { a, A } = secret('identity-r');
  const m = text('R is the identity');
  const R = ed.Point.ZERO.toBytes();
  vectors.push({
    id: 'r-identity-prime-key',
    comment: 'prime-order A, R = identity (order 1), S = k·a: both equations hold; libsodium refuses a small-order R, and so do we',
    message: toHex(m),
    publicKey: toHex(A),
    signature: signature(R, (challenge(R, A, m) * a) % L),
    expected: false,
    openssl: true,
    libsodium: false,
    nobleStrict: true,
  });
  // The identity's y = 1 spelled as y = p + 1: decodes to the same point under lax rules.
  const nonCanonical = hexBytes(`ee${'ff'.repeat(30)}7f`);
  vectors.push({
    id: 'r-non-canonical-identity',
    comment: 'prime-order A, R = identity spelled y = p + 1, S = k·a over those bytes: lax decoders accept, OpenSSL compares R as bytes and refuses',
    message: toHex(m),
    publicKey: toHex(A),
    signature: signature(nonCanonical, (challenge(nonCanonical, A, m) * a) % L),
    expected: false,
    openssl: false,
    libsodium: false,
    nobleStrict: false,
  });
  const negativeZero = hexBytes(`01${'00'.repeat(30)}80`);
  vectors.push({
    id: 'r-identity-sign-bit',
    comment: 'prime-order A, R = identity with the sign bit set (x = 0, x_0 = 1), S = k·a over those bytes: RFC 8032 decoding fails',
    message: toHex(m),
    publicKey: toHex(A),
    signature: signature(negativeZero, (challenge(negativeZero, A, m) * a) % L),
    expected: false,
    openssl: false,
    libsodium: false,
    nobleStrict: false,
  });
}
{
  // A mixed-order key A' = [a]B + T8: [k]A' carries [k]T8, which vanishes only when 8 | k.
  const { a, r } = secret('mixed-a');
  const A = mul(B, a).add(T8).toBytes();
  const R = mul(B, r).toBytes();
  let passing: Vector | undefined;
  let failing: Vector | undefined;
  for (let i = 0; !passing || !failing; i++) {
    const m = text(`mixed-order key, attempt ${i}`);
    const k = challenge(R, A, m);
    const base = { message: toHex(m), publicKey: toHex(A), signature: signature(R, (r + k * a) % L) };
    if (k % 8n === 0n && !passing) {
      passing = {
        id: 'a-mixed-k-multiple-of-8',
        comment: 'mixed-order A = [a]B + T8, R = [r]B, 8 | k: both equations hold, so OpenSSL and libsodium accept; we refuse a mixed-order key',
        ...base,
        expected: false,
        openssl: true,
        libsodium: true,
        nobleStrict: true,
      };
    } else if (k % 8n !== 0n && !failing) {
      failing = {
        id: 'a-mixed-k-not-multiple-of-8',
        comment: 'mixed-order A = [a]B + T8, R = [r]B, 8 ∤ k: only the cofactored equation holds',
        ...base,
        expected: false,
        openssl: false,
        libsodium: false,
        nobleStrict: true,
      };
    }
  }
  vectors.push(passing, failing);
  // R = [r]B + [j]T8 with j + k ≡ 0 (mod 8): the torsion parts cancel in the cofactorless equation.
  let compensated: Vector | undefined;
  for (let i = 0; !compensated; i++) {
    const m = text(`mixed-order key and R, attempt ${i}`);
    for (let j = 1n; j < 8n && !compensated; j++) {
      const Rj = mul(B, r).add(T8.multiply(j, false)).toBytes();
      const k = challenge(Rj, A, m);
      if ((j + k) % 8n !== 0n) continue;
      compensated = {
        id: 'a-mixed-r-mixed-cancelling',
        comment: 'mixed-order A and R whose torsion parts cancel: both equations hold (like speccheck case 3); we refuse a mixed-order key',
        message: toHex(m),
        publicKey: toHex(A),
        signature: signature(Rj, (r + k * a) % L),
        expected: false,
        openssl: true,
        libsodium: true,
        nobleStrict: true,
      };
    }
  }
  vectors.push(compensated);
}

const out = join(import.meta.dirname, '..', 'ed25519-vectors', 'constructed.json');
const doc = {
  description:
    'Ed25519 signatures built on the boundaries between verifiers by packages/verifier/test/support/generate-ed25519-vectors.ts. Hex: message, 32-byte public key, 64-byte signature R || S. Verdicts follow from the construction.',
  vectors,
};
await writeFile(out, `${JSON.stringify(doc, null, 2)}\n`);
process.stdout.write(`wrote ${vectors.length} vectors to ${out}\n`);
