import { createPrivateKey, createPublicKey, randomBytes, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { inspect } from 'node:util';
import { computeSha256Digest } from '@lumenflow/protocol';
import { isStrictSignatureEncoding, judgePublicKey } from './ed25519-strict.js';
import { VerifierError } from './errors.js';

// RFC 8410 DER prefixes for Ed25519; the 32-byte key or seed follows each.
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);
const PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);
const KEY_LENGTH = 32;
const SIGNATURE_LENGTH = 64;

/** A persistent Ed25519 signing key. The private key lives only in a KeyObject in a closure; nothing enumerable exposes it. */
export interface SigningKey {
  readonly keyId: string;
  readonly publicKeyPem: string;
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

/** Builds DER SubjectPublicKeyInfo (RFC 8410) for a raw 32-byte Ed25519 public key. */
export function encodePublicKeyDer(publicKey: Uint8Array): Uint8Array {
  assertBytes(publicKey, 'publicKey');
  if (publicKey.length !== KEY_LENGTH) throw new RangeError('an Ed25519 public key is 32 bytes');
  return concatBytes(SPKI_PREFIX, publicKey);
}

/** Encodes a raw 32-byte Ed25519 public key as SPKI PEM, exactly as OpenSSL 3 writes it. */
export function encodePublicKeyPem(publicKey: Uint8Array): string {
  return encodePem('PUBLIC KEY', encodePublicKeyDer(publicKey));
}

/** `sha256:` plus the lowercase hex SHA-256 of DER SPKI, recomputable with `openssl pkey -pubin -outform DER | sha256sum`. */
export function computeKeyId(spkiDer: Uint8Array): string {
  assertBytes(spkiDer, 'spkiDer');
  return computeSha256Digest(spkiDer);
}

/**
 * The DSSE `keyid` for a key id: the same SHA-256 of DER SPKI as bare lowercase hex,
 * the form securesystemslib's key-id schema (hex only) and @sigstore/verify's key
 * hint use. The `sha256:` prefix stays in the manifest.
 *
 * @throws {RangeError} when `keyId` is not `sha256:<64 lowercase hex>`.
 */
export function computeDsseKeyId(keyId: string): string {
  if (typeof keyId !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(keyId)) throw new RangeError('keyId must be sha256:<64 lowercase hex>');
  return keyId.slice('sha256:'.length);
}

/**
 * Parses an SPKI PEM Ed25519 public key (RFC 8410) and returns its 32 raw bytes.
 * Refuses non-canonical point encodings, small-order points (which admit
 * signatures that verify for every message) and mixed-order points (on which
 * cofactored and cofactorless verifiers disagree).
 *
 * @throws {VerifierError} PUBLIC_KEY_INVALID for anything but one well-formed
 *   Ed25519 SPKI block; PUBLIC_KEY_WEAK for a small-order or mixed-order key.
 */
export function parsePublicKeyPem(spkiPem: string): Uint8Array {
  if (typeof spkiPem !== 'string') throw new TypeError('spkiPem must be a string');
  const der = decodePem(spkiPem, 'PUBLIC KEY', 'PUBLIC_KEY_INVALID');
  if (der.length !== SPKI_PREFIX.length + KEY_LENGTH || !startsWith(der, SPKI_PREFIX)) {
    throw new VerifierError('PUBLIC_KEY_INVALID', 'not an Ed25519 SubjectPublicKeyInfo');
  }
  const publicKey = der.slice(SPKI_PREFIX.length);
  const verdict = judgePublicKey(publicKey);
  if (verdict === 'small-order' || verdict === 'mixed-order') {
    throw new VerifierError('PUBLIC_KEY_WEAK', `public key is a ${verdict} point`);
  }
  if (verdict !== 'ok') throw new VerifierError('PUBLIC_KEY_INVALID', `public key is not a valid Ed25519 point (${verdict})`);
  return publicKey;
}

/** True when `publicKeyPem` is byte-for-byte the canonical PEM of the key it holds. */
export function isCanonicalPublicKeyPem(publicKeyPem: string, publicKey: Uint8Array): boolean {
  return publicKeyPem === encodePublicKeyPem(publicKey);
}

/**
 * Verifies a pure Ed25519 signature (RFC 8032) with OpenSSL through node:crypto,
 * which checks S < L and the cofactorless equation [S]B = R + [k]A, after the
 * checks OpenSSL lacks: canonical A and R, no small-order A or R, A in the
 * prime-order subgroup. What it accepts, OpenSSL, libsodium and @sigstore/verify
 * all accept (ADR 0026). Returns false for any bad signature or key; never throws on them.
 *
 * @throws {TypeError} when an argument is not a Uint8Array.
 */
export function verifyEd25519(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  assertBytes(signature, 'signature');
  assertBytes(message, 'message');
  assertBytes(publicKey, 'publicKey');
  if (signature.length !== SIGNATURE_LENGTH || publicKey.length !== KEY_LENGTH) return false;
  if (!isStrictSignatureEncoding(signature)) return false;
  const key = verifyingKeyFor(publicKey);
  if (key === undefined) return false;
  try {
    return cryptoVerify(null, message, key, signature);
  } catch {
    return false;
  }
}

// Importing a key and judging its point costs far more than one verification, so
// both are done once per key. Bounded, so a stream of fresh hostile keys costs time,
// never memory; the oldest entry goes first. A refused key is cached as `null`.
const VERIFYING_KEY_CACHE_SIZE = 1024;
const verifyingKeys = new Map<string, KeyObject | null>();

function verifyingKeyFor(publicKey: Uint8Array): KeyObject | undefined {
  const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('hex');
  const cached = verifyingKeys.get(id);
  if (cached !== undefined) {
    verifyingKeys.delete(id);
    verifyingKeys.set(id, cached);
    return cached ?? undefined;
  }
  let key: KeyObject | null = null;
  if (judgePublicKey(publicKey) === 'ok') {
    try {
      key = createPublicKey({ key: Buffer.from(encodePublicKeyDer(publicKey)), format: 'der', type: 'spki' });
    } catch {
      key = null;
    }
  }
  if (verifyingKeys.size >= VERIFYING_KEY_CACHE_SIZE) {
    const oldest = verifyingKeys.keys().next();
    if (!oldest.done) verifyingKeys.delete(oldest.value);
  }
  verifyingKeys.set(id, key);
  return key ?? undefined;
}

/** Generates a new Ed25519 key as PKCS#8 PEM (RFC 8410), the form `openssl genpkey -algorithm ed25519` writes. */
export function generateSigningKeyPem(): string {
  const seed = randomBytes(KEY_LENGTH);
  const der = concatBytes(PKCS8_PREFIX, seed);
  const pem = encodePem('PRIVATE KEY', der);
  seed.fill(0);
  der.fill(0);
  return pem;
}

/**
 * Parses an Ed25519 PKCS#8 PEM private key into a {@link SigningKey}.
 *
 * @throws {VerifierError} SIGNING_KEY_INVALID when the text is not exactly one
 *   unencrypted Ed25519 PKCS#8 v1 key. The message never echoes the input.
 */
export function parseSigningKeyPem(pkcs8Pem: string): SigningKey {
  if (typeof pkcs8Pem !== 'string') throw new TypeError('pkcs8Pem must be a string');
  const der = decodePem(pkcs8Pem, 'PRIVATE KEY', 'SIGNING_KEY_INVALID');
  if (der.length !== PKCS8_PREFIX.length + KEY_LENGTH || !startsWith(der, PKCS8_PREFIX)) {
    der.fill(0);
    throw new VerifierError('SIGNING_KEY_INVALID', 'not an unencrypted Ed25519 PKCS#8 v1 private key');
  }
  return createSigningKey(der);
}

function createSigningKey(pkcs8Der: Uint8Array): SigningKey {
  // One KeyObject per key, made here and kept in this closure: OpenSSL signs with
  // it directly, and the DER bytes holding the seed are wiped once it has them.
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: Buffer.from(pkcs8Der.buffer, pkcs8Der.byteOffset, pkcs8Der.byteLength), format: 'der', type: 'pkcs8' });
  } catch (cause) {
    throw new VerifierError('SIGNING_KEY_INVALID', 'not an unencrypted Ed25519 PKCS#8 v1 private key', { cause });
  } finally {
    pkcs8Der.fill(0);
  }
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const publicKey = new Uint8Array(spki.subarray(SPKI_PREFIX.length));
  const publicKeyPem = encodePublicKeyPem(publicKey);
  const keyId = computeKeyId(encodePublicKeyDer(publicKey));
  const describe = (): { keyId: string; algorithm: 'ed25519' } => ({ keyId, algorithm: 'ed25519' });
  const key: SigningKey = {
    keyId,
    publicKeyPem,
    get publicKey(): Uint8Array {
      // A copy, so a caller cannot alter the key this object signs with.
      return publicKey.slice();
    },
    sign(message: Uint8Array): Uint8Array {
      assertBytes(message, 'message');
      return new Uint8Array(cryptoSign(null, message, privateKey));
    },
  };
  // The key is only in this closure; these keep logs and JSON to public facts even if a
  // future field were added by mistake.
  Object.defineProperty(key, 'toJSON', { value: describe, enumerable: false });
  Object.defineProperty(key, inspect.custom, { value: () => `SigningKey ${keyId}`, enumerable: false });
  return Object.freeze(key);
}

function encodePem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

function decodePem(text: string, label: string, code: 'PUBLIC_KEY_INVALID' | 'SIGNING_KEY_INVALID'): Uint8Array {
  // One block, nothing around it but whitespace; CRLF tolerated. Base64 must be
  // canonical so that one key has one textual form up to line breaks.
  const match = new RegExp(`^\\s*-----BEGIN ${label}-----\\r?\\n([A-Za-z0-9+/=\\r\\n]+?)\\r?\\n?-----END ${label}-----\\s*$`).exec(text);
  if (!match?.[1]) throw new VerifierError(code, `expected one PEM block labelled ${label}`);
  const b64 = match[1].replace(/\r?\n/g, '');
  const bytes = Buffer.from(b64, 'base64');
  if (b64.length === 0 || bytes.toString('base64') !== b64) {
    bytes.fill(0);
    throw new VerifierError(code, 'PEM body is not canonical base64');
  }
  const out = new Uint8Array(bytes);
  bytes.fill(0);
  return out;
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function assertBytes(value: unknown, name: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
}
