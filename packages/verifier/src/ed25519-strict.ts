import * as ed from '@noble/ed25519';

// The checks OpenSSL's Ed25519 verify does not make, kept as pure functions over
// encodings. OpenSSL (node:crypto) then checks the cofactorless equation
// [S]B = R + [k]A and compares R byte for byte. Together they accept a subset of what
// OpenSSL, libsodium and @sigstore/verify each accept (ADR 0026).

// L, the prime order of the base point, little-endian.
const L_LE = Uint8Array.from([
  0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
]);

// The y-coordinates (little-endian, sign bit clear) of the eight points of order
// dividing 8: identity (y = 1), order 2 (y = p - 1), order 4 (y = 0) and the two
// y values the four order-8 points share. With the sign bit masked, every
// canonical spelling of a small-order point is one of these (libsodium keeps the
// same list); a test derives them from the curve.
const SMALL_ORDER_Y = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
].map((h) => Uint8Array.from(Buffer.from(h, 'hex')));

/** True when the 32-byte little-endian scalar S is below L (RFC 8032 §5.1.7, step 1). */
export function isCanonicalScalar(s: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    const a = s[i] ?? 0;
    const b = L_LE[i] ?? 0;
    if (a !== b) return a < b;
  }
  return false;
}

/**
 * True when a 32-byte point encoding spells its y-coordinate canonically (y < p,
 * p = 2^255 - 19). Only y in [p, 2^255) is non-canonical: the low byte is 0xed..0xff
 * and every other bit of y is set.
 */
export function isCanonicalYEncoding(point: Uint8Array): boolean {
  if (((point[31] ?? 0) & 0x7f) !== 0x7f) return true;
  for (let i = 30; i > 0; i--) if (point[i] !== 0xff) return true;
  return (point[0] ?? 0) < 0xed;
}

/** True when a canonical point encoding names a point of order 1, 2, 4 or 8, whatever its sign bit. */
export function isSmallOrderEncoding(point: Uint8Array): boolean {
  return SMALL_ORDER_Y.some((y) => {
    for (let i = 0; i < 31; i++) if (point[i] !== y[i]) return false;
    return ((point[31] ?? 0) & 0x7f) === y[31];
  });
}

/** Why a public key is refused, or `ok`. Costs one scalar multiplication: call it once per key. */
export type PublicKeyVerdict = 'ok' | 'non-canonical' | 'not-on-curve' | 'small-order' | 'mixed-order';

/**
 * Judges a raw 32-byte public key A: a canonical encoding (y < p, no x = 0 with
 * the sign bit set), a point on the curve, not of small order, and in the
 * prime-order subgroup ([L]A = identity). A small-order key admits a signature
 * for every message; a mixed-order key makes the cofactored and cofactorless
 * equations disagree. An honest key, [a]B, passes all four.
 */
export function judgePublicKey(publicKey: Uint8Array): PublicKeyVerdict {
  // The subgroup check is a scalar multiplication in JavaScript (about a millisecond);
  // a key is judged once per process however often it is parsed or verified with.
  const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('hex');
  const known = verdicts.get(id);
  if (known !== undefined) return known;
  const verdict = judgeOnce(publicKey);
  if (verdicts.size >= VERDICT_CACHE_SIZE) verdicts.delete(verdicts.keys().next().value as string);
  verdicts.set(id, verdict);
  return verdict;
}

/** Most public-key verdicts remembered; the oldest is forgotten first. */
const VERDICT_CACHE_SIZE = 1024;
const verdicts = new Map<string, PublicKeyVerdict>();

function judgeOnce(publicKey: Uint8Array): PublicKeyVerdict {
  if (!isCanonicalYEncoding(publicKey)) return 'non-canonical';
  let point: ed.Point;
  try {
    // zip215 = false: RFC 8032 decoding, which also refuses x = 0 with the sign bit set.
    point = ed.Point.fromBytes(publicKey, false);
  } catch {
    return isSmallOrderEncoding(publicKey) ? 'non-canonical' : 'not-on-curve';
  }
  if (point.isSmallOrder()) return 'small-order';
  if (!point.isTorsionFree()) return 'mixed-order';
  return 'ok';
}

/**
 * The checks on a signature's own bytes: S < L, and R canonical and not of small
 * order. With a prime-order key, the cofactorless equation then forces R into the
 * prime-order subgroup, so a mixed-order R cannot pass either.
 */
export function isStrictSignatureEncoding(signature: Uint8Array): boolean {
  const r = signature.subarray(0, 32);
  return isCanonicalScalar(signature.subarray(32, 64)) && isCanonicalYEncoding(r) && !isSmallOrderEncoding(r);
}
