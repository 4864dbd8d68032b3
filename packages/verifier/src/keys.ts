import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { computeSha256Digest } from '@lumenflow/protocol';
import { VerifierError } from './errors.js';

// noble needs a synchronous SHA-512 for sign/verify; set once at module load.
ed.hashes.sha512 = sha512;

// RFC 8410 DER prefixes for Ed25519; the 32-byte key or seed follows each.
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);
const PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);
const KEY_LENGTH = 32;
const SIGNATURE_LENGTH = 64;

/** A persistent Ed25519 signing key. The seed lives only in a closure; nothing enumerable exposes it. */
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
 * Parses an SPKI PEM Ed25519 public key (RFC 8410) and returns its 32 raw bytes.
 * Refuses non-canonical point encodings and small-order points: a small-order
 * key admits signatures that verify for every message.
 *
 * @throws {VerifierError} PUBLIC_KEY_INVALID for anything but one well-formed
 *   Ed25519 SPKI block; PUBLIC_KEY_WEAK for a small-order key.
 */
export function parsePublicKeyPem(spkiPem: string): Uint8Array {
  if (typeof spkiPem !== 'string') throw new TypeError('spkiPem must be a string');
  const der = decodePem(spkiPem, 'PUBLIC KEY', 'PUBLIC_KEY_INVALID');
  if (der.length !== SPKI_PREFIX.length + KEY_LENGTH || !startsWith(der, SPKI_PREFIX)) {
    throw new VerifierError('PUBLIC_KEY_INVALID', 'not an Ed25519 SubjectPublicKeyInfo');
  }
  const publicKey = der.slice(SPKI_PREFIX.length);
  let point: ed.Point;
  try {
    // zip215=false: RFC 8032 canonical encoding (y < p), as strict verification requires.
    point = ed.Point.fromBytes(publicKey, false);
  } catch (cause) {
    throw new VerifierError('PUBLIC_KEY_INVALID', 'public key is not a valid Ed25519 point', { cause });
  }
  if (point.isSmallOrder()) throw new VerifierError('PUBLIC_KEY_WEAK', 'public key is a small-order point');
  return publicKey;
}

/** True when `publicKeyPem` is byte-for-byte the canonical PEM of the key it holds. */
export function isCanonicalPublicKeyPem(publicKeyPem: string, publicKey: Uint8Array): boolean {
  return publicKeyPem === encodePublicKeyPem(publicKey);
}

/**
 * Verifies a pure Ed25519 signature strictly per RFC 8032 (no ZIP-215 leniency,
 * small-order keys refused). Returns false for any bad signature or key; never throws on them.
 *
 * @throws {TypeError} when an argument is not a Uint8Array.
 */
export function verifyEd25519(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  assertBytes(signature, 'signature');
  assertBytes(message, 'message');
  assertBytes(publicKey, 'publicKey');
  if (signature.length !== SIGNATURE_LENGTH || publicKey.length !== KEY_LENGTH) return false;
  try {
    return ed.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
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
  const seed = der.slice(PKCS8_PREFIX.length);
  der.fill(0);
  return createSigningKey(seed);
}

function createSigningKey(seed: Uint8Array): SigningKey {
  const publicKey = ed.getPublicKey(seed);
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
      return ed.sign(message, seed);
    },
  };
  // The seed is only in this closure; these keep logs and JSON to public facts even if a
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
