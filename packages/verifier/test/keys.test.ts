import { createHash, createPrivateKey, createPublicKey, sign as nodeSign } from 'node:crypto';
import { inspect } from 'node:util';
import { ed } from './support/noble.js';
import { describe, expect, it } from 'vitest';
import {
  VerifierError,
  computeDsseKeyId,
  computeKeyId,
  encodePublicKeyDer,
  encodePublicKeyPem,
  generateSigningKeyPem,
  parsePublicKeyPem,
  parseSigningKeyPem,
  verifyEd25519,
} from '@lumenflow/verifier';

const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'hex'));
const pkcs8Pem = (seed: Uint8Array): string => {
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64')}\n-----END PRIVATE KEY-----\n`;
};
// 44 DER bytes take 59 base64 digits plus '='; the last digit's two low bits are
// unused, so flipping one spells the same bytes differently.
function withUnusedBitSet(pem: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const body = pem.split('\n')[1] ?? '';
  const last = body[58] ?? 'A';
  const flipped = alphabet[alphabet.indexOf(last) ^ 1] ?? 'A';
  return pem.replace(body, `${body.slice(0, 58)}${flipped}${body.slice(59)}`);
}
function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof VerifierError) return error.code;
    throw error;
  }
  return undefined;
}

// RFC 8032 §7.1, tests 1 and 2.
const RFC8032 = [
  {
    name: 'TEST 1 (empty message)',
    seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'TEST 2 (one byte)',
    seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
];

// The eight small-order points (and a sign-bit variant); each admits forged signatures under lenient rules.
const SMALL_ORDER = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0000000000000000000000000000000000000000000000000000000000000080',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
];

describe('Ed25519 signing and strict verification', () => {
  for (const v of RFC8032) {
    it(`${v.name}: signs and verifies as RFC 8032 says`, () => {
      const key = parseSigningKeyPem(pkcs8Pem(hex(v.seed)));
      expect(Buffer.from(key.publicKey).toString('hex')).toBe(v.publicKey);
      expect(Buffer.from(key.sign(hex(v.message))).toString('hex')).toBe(v.signature);
      expect(verifyEd25519(hex(v.signature), hex(v.message), hex(v.publicKey))).toBe(true);
      expect(verifyEd25519(hex(v.signature), hex(`${v.message}00`), hex(v.publicKey))).toBe(false);
    });
  }

  it('refuses the universal forgery that ZIP-215 accepts (identity key, R = identity, S = 0)', () => {
    const identity = hex(SMALL_ORDER[0] ?? '');
    const forged = new Uint8Array(64);
    forged.set(identity, 0);
    const message = new TextEncoder().encode('any message at all');
    // Shows why the strict mode matters: the library default accepts it.
    expect(ed.verify(forged, message, identity)).toBe(true);
    expect(verifyEd25519(forged, message, identity)).toBe(false);
  });

  it.each([
    ['empty', 0],
    ['truncated', 63],
    ['too long', 65],
  ])('returns false, never throws, for a %s signature', (_label, length) => {
    const key = parseSigningKeyPem(generateSigningKeyPem());
    const message = new Uint8Array([1, 2, 3]);
    const signature = new Uint8Array(length);
    signature.set(key.sign(message).subarray(0, Math.min(64, length)));
    expect(verifyEd25519(signature, message, key.publicKey)).toBe(false);
  });

  it('returns false for a zeroed signature and for a garbage key', () => {
    const key = parseSigningKeyPem(generateSigningKeyPem());
    const message = new Uint8Array([1]);
    expect(verifyEd25519(new Uint8Array(64), message, key.publicKey)).toBe(false);
    expect(verifyEd25519(key.sign(message), message, new Uint8Array(32).fill(0xff))).toBe(false);
    expect(verifyEd25519(key.sign(message), message, new Uint8Array(31))).toBe(false);
  });

  it('throws TypeError on API misuse, not on bad signatures', () => {
    expect(() => verifyEd25519('sig' as unknown as Uint8Array, new Uint8Array(), new Uint8Array(32))).toThrow(TypeError);
  });

  it('produces signatures node:crypto (OpenSSL) verifies', () => {
    const pem = generateSigningKeyPem();
    const key = parseSigningKeyPem(pem);
    const message = new TextEncoder().encode('interop');
    const nodePublic = createPublicKey(key.publicKeyPem);
    expect(nodeSign(null, message, createPrivateKey(pem)).equals(Buffer.from(key.sign(message)))).toBe(true);
    expect(createPublicKey(createPrivateKey(pem)).export({ format: 'pem', type: 'spki' })).toBe(key.publicKeyPem);
    expect(nodePublic.asymmetricKeyType).toBe('ed25519');
  });
});

describe('public keys', () => {
  it('round-trips SPKI PEM, tolerating CRLF and surrounding whitespace', () => {
    const key = parseSigningKeyPem(generateSigningKeyPem());
    expect(parsePublicKeyPem(key.publicKeyPem)).toEqual(key.publicKey);
    expect(parsePublicKeyPem(`\n${key.publicKeyPem.replace(/\n/g, '\r\n')}\n`)).toEqual(key.publicKey);
    expect(encodePublicKeyPem(key.publicKey)).toBe(key.publicKeyPem);
  });

  for (const point of SMALL_ORDER) {
    it(`refuses small-order point ${point.slice(0, 8)}…`, () => {
      const pem = `-----BEGIN PUBLIC KEY-----\n${Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(point, 'hex')]).toString('base64')}\n-----END PUBLIC KEY-----\n`;
      expect(['PUBLIC_KEY_WEAK', 'PUBLIC_KEY_INVALID']).toContain(codeOf(() => parsePublicKeyPem(pem)));
    });
  }

  it('names the identity and the order-4 point WEAK', () => {
    for (const point of [SMALL_ORDER[0], SMALL_ORDER[2]]) {
      expect(codeOf(() => parsePublicKeyPem(encodePublicKeyPem(hex(point ?? ''))))).toBe('PUBLIC_KEY_WEAK');
    }
  });

  it.each([
    ['a non-canonical y (y = p)', encodePublicKeyPem(hex(`ed${'ff'.repeat(30)}7f`))],
    ['garbage', 'hello'],
    ['an empty block', '-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n'],
    ['a private key', generateSigningKeyPem()],
    ['two blocks', `${encodePublicKeyPem(new Uint8Array(32).fill(9))}${encodePublicKeyPem(new Uint8Array(32).fill(9))}`],
    ['non-canonical base64 (unused bits set)', withUnusedBitSet(encodePublicKeyPem(parseSigningKeyPem(generateSigningKeyPem()).publicKey))],
    ['an RSA-sized blob', `-----BEGIN PUBLIC KEY-----\n${Buffer.alloc(100, 1).toString('base64')}\n-----END PUBLIC KEY-----\n`],
  ])('refuses %s as PUBLIC_KEY_INVALID', (_label, pem) => {
    expect(codeOf(() => parsePublicKeyPem(pem))).toBe('PUBLIC_KEY_INVALID');
  });

  it('computes keyId as sha256 of the DER SPKI', () => {
    const key = parseSigningKeyPem(pkcs8Pem(hex(RFC8032[0]?.seed ?? '')));
    expect(computeKeyId(encodePublicKeyDer(key.publicKey))).toBe(key.keyId);
    expect(key.keyId).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('spells the DSSE keyid as the same digest in bare hex, and refuses anything but a key id', () => {
    const key = parseSigningKeyPem(pkcs8Pem(hex(RFC8032[0]?.seed ?? '')));
    const der = Buffer.from(encodePublicKeyDer(key.publicKey));
    expect(computeDsseKeyId(key.keyId)).toBe(createHash('sha256').update(der).digest('hex'));
    for (const bad of ['', 'ab'.repeat(32), `sha256:${'AB'.repeat(32)}`, `sha256:${'ab'.repeat(31)}`]) {
      expect(() => computeDsseKeyId(bad)).toThrow(RangeError);
    }
  });
});

describe('signing keys', () => {
  it('generates a fresh PKCS#8 key each time, readable by node:crypto', () => {
    const a = generateSigningKeyPem();
    const b = generateSigningKeyPem();
    expect(a).not.toBe(b);
    expect(createPrivateKey(a).asymmetricKeyType).toBe('ed25519');
  });

  it.each([
    ['garbage', 'not a key'],
    ['a public key', encodePublicKeyPem(new Uint8Array(32).fill(7))],
    ['a truncated key', pkcs8Pem(new Uint8Array(31))],
    ['an encrypted key', '-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n'],
  ])('refuses %s with SIGNING_KEY_INVALID', (_label, pem) => {
    expect(codeOf(() => parseSigningKeyPem(pem))).toBe('SIGNING_KEY_INVALID');
  });

  it('never exposes the seed through JSON, inspect, keys or errors', () => {
    const seed = hex(RFC8032[0]?.seed ?? '');
    const pem = pkcs8Pem(seed);
    const key = parseSigningKeyPem(pem);
    const seedHex = Buffer.from(seed).toString('hex');
    const seedB64 = Buffer.from(seed).toString('base64');
    const views = [JSON.stringify(key), inspect(key, { showHidden: true, depth: 10 }), String(key), JSON.stringify(Object.entries(key))];
    for (const view of views) {
      expect(view).not.toContain(seedHex);
      expect(view).not.toContain(seedB64.slice(0, 20));
      expect(view).not.toContain(pem.split('\n')[1]?.slice(0, 20));
    }
    expect(JSON.parse(JSON.stringify(key))).toEqual({ keyId: key.keyId, algorithm: 'ed25519' });
    let message = '';
    try {
      parseSigningKeyPem(pem.replace('-----END', 'x-----END'));
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).not.toBe('');
    expect(message).not.toContain(pem.split('\n')[1]?.slice(0, 20));
  });

  it('hands out a copy of the public key, so callers cannot change what it signs as', () => {
    const key = parseSigningKeyPem(generateSigningKeyPem());
    const copy = key.publicKey;
    copy.fill(0);
    expect(key.publicKey).not.toEqual(copy);
  });
});
