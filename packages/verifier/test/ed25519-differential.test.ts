import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodePublicKeyDer, parseSigningKeyPem, verifyEd25519 } from '@lumenflow/verifier';
import { isCanonicalScalar, isCanonicalYEncoding, isSmallOrderEncoding, judgePublicKey } from '../src/ed25519-strict.js';
import { ed } from './support/noble.js';

const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const T8 = ed.Point.fromBytes(Uint8Array.from(Buffer.from('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', 'hex')));
const le32 = (n: bigint): Uint8Array => Uint8Array.from(Buffer.from(n.toString(16).padStart(64, '0'), 'hex').reverse());
const pkcs8Pem = (seed: Uint8Array): string =>
  `-----BEGIN PRIVATE KEY-----\n${Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]).toString('base64')}\n-----END PRIVATE KEY-----\n`;

function nodeVerdict(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    const key = createPublicKey({ key: Buffer.from(encodePublicKeyDer(publicKey)), format: 'der', type: 'spki' });
    return cryptoVerify(null, message, key, signature);
  } catch {
    return false;
  }
}
function nobleVerdict(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return ed.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

describe('strict encoding checks', () => {
  it('flags every encoding of the eight small-order points, with either sign bit, and no honest point', () => {
    for (let j = 0n; j < 8n; j++) {
      const bytes = T8.multiply(j, false).toBytes();
      expect(isSmallOrderEncoding(bytes), `[${j}]T8`).toBe(true);
      const flipped = bytes.slice();
      flipped[31] = (flipped[31] ?? 0) ^ 0x80;
      expect(isSmallOrderEncoding(flipped), `[${j}]T8 with the sign bit flipped`).toBe(true);
    }
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: L - 1n }), (r) => !isSmallOrderEncoding(ed.Point.BASE.multiply(r).toBytes())),
      { numRuns: 50 },
    );
  });

  it('draws S < L and y < p exactly at the boundary', () => {
    expect(isCanonicalScalar(le32(L - 1n))).toBe(true);
    expect(isCanonicalScalar(le32(L))).toBe(false);
    expect(isCanonicalScalar(le32(2n ** 256n - 1n))).toBe(false);
    const p = 2n ** 255n - 19n;
    expect(isCanonicalYEncoding(le32(p - 1n))).toBe(true);
    expect(isCanonicalYEncoding(le32(p))).toBe(false);
    expect(isCanonicalYEncoding(le32(2n ** 255n - 1n))).toBe(false);
    // The sign bit is not part of y.
    expect(isCanonicalYEncoding(le32((p - 1n) | (1n << 255n)))).toBe(true);
    expect(isCanonicalYEncoding(le32(p | (1n << 255n)))).toBe(false);
  });

  it('judges keys: honest ok, torsion added mixed-order, torsion alone small-order', () => {
    const honest = ed.Point.BASE.multiply(123456789n);
    expect(judgePublicKey(honest.toBytes())).toBe('ok');
    expect(judgePublicKey(honest.add(T8).toBytes())).toBe('mixed-order');
    expect(judgePublicKey(honest.add(T8.multiply(4n, false)).toBytes())).toBe('mixed-order');
    expect(judgePublicKey(T8.toBytes())).toBe('small-order');
    expect(judgePublicKey(Uint8Array.from(Buffer.from(`ed${'ff'.repeat(30)}7f`, 'hex')))).toBe('non-canonical');
  });
});

// Differential: on honest keys and mutations of their signatures, whatever we accept,
// node:crypto (OpenSSL) and noble's strict mode accept too; and where our own checks
// pass, we say exactly what OpenSSL says.
describe('differential against node:crypto and noble { zip215: false }', () => {
  const mutation = fc.oneof(
    fc.constant({ kind: 'none' as const }),
    fc.record({ kind: fc.constant('flip' as const), index: fc.nat(63), bit: fc.nat(7) }),
    fc.record({ kind: fc.constant('torsion-r' as const), j: fc.integer({ min: 1, max: 7 }) }),
    fc.record({ kind: fc.constant('torsion-a' as const), j: fc.integer({ min: 1, max: 7 }) }),
    fc.constant({ kind: 's-plus-l' as const }),
    fc.record({ kind: fc.constant('small-r' as const), j: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('random' as const), bytes: fc.uint8Array({ minLength: 64, maxLength: 64 }) }),
  );

  it('accepts a subset of what both accept, and agrees with OpenSSL once the encodings are strict', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 64 }), mutation, (seed, message, m) => {
        const key = parseSigningKeyPem(pkcs8Pem(seed));
        let publicKey = key.publicKey;
        const signature = key.sign(message);
        const r = () => ed.Point.fromBytes(signature.subarray(0, 32));
        if (m.kind === 'flip') signature[m.index] = (signature[m.index] ?? 0) ^ (1 << m.bit);
        if (m.kind === 'torsion-r') signature.set(r().add(T8.multiply(BigInt(m.j), false)).toBytes(), 0);
        if (m.kind === 'torsion-a') publicKey = ed.Point.fromBytes(publicKey).add(T8.multiply(BigInt(m.j), false)).toBytes();
        if (m.kind === 's-plus-l') {
          const s = BigInt(`0x${Buffer.from(signature.subarray(32)).reverse().toString('hex')}`);
          signature.set(le32(s + L), 32);
        }
        if (m.kind === 'small-r') signature.set(T8.multiply(BigInt(m.j), false).toBytes(), 0);
        if (m.kind === 'random') signature.set(m.bytes);

        const ours = verifyEd25519(signature, message, publicKey);
        const openssl = nodeVerdict(signature, message, publicKey);
        const noble = nobleVerdict(signature, message, publicKey);
        if (ours) expect(openssl && noble, `accepted ${m.kind}`).toBe(true);
        if (m.kind === 'none') expect(ours).toBe(true);
        const r32 = signature.subarray(0, 32);
        const strict = judgePublicKey(publicKey) === 'ok' && isCanonicalScalar(signature.subarray(32)) && isCanonicalYEncoding(r32) && !isSmallOrderEncoding(r32);
        if (strict) expect(ours, `strict encodings, ${m.kind}`).toBe(openssl);
      }),
      { numRuns: 300 },
    );
  });
});
