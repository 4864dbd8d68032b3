import type * as NodeCrypto from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';

// Importing a key into OpenSSL costs more than a verification, so it must happen
// once per key, never per call. node:crypto is wrapped to count the imports.
const counts = vi.hoisted(() => ({ publicKey: 0, privateKey: 0 }));
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof NodeCrypto>();
  return {
    ...real,
    createPublicKey: (...args: Parameters<typeof real.createPublicKey>) => {
      counts.publicKey++;
      return real.createPublicKey(...args);
    },
    createPrivateKey: (...args: Parameters<typeof real.createPrivateKey>) => {
      counts.privateKey++;
      return real.createPrivateKey(...args);
    },
  };
});

const { generateSigningKeyPem, parseSigningKeyPem, verifyEd25519 } = await import('@lumenflow/verifier');

describe('KeyObjects are made once per key', () => {
  it('signs and verifies many messages with one import of each key', () => {
    const signer = parseSigningKeyPem(generateSigningKeyPem());
    const other = parseSigningKeyPem(generateSigningKeyPem());
    const privateAfterParse = counts.privateKey;
    const publicBefore = counts.publicKey;
    for (let i = 0; i < 50; i++) {
      const message = new TextEncoder().encode(`message ${i}`);
      expect(verifyEd25519(signer.sign(message), message, signer.publicKey)).toBe(true);
      expect(verifyEd25519(other.sign(message), message, other.publicKey)).toBe(true);
      expect(verifyEd25519(other.sign(message), message, signer.publicKey)).toBe(false);
    }
    expect(counts.privateKey - privateAfterParse).toBe(0);
    expect(counts.publicKey - publicBefore).toBe(2);
  });

  it('never hands OpenSSL a key the strict checks refuse (a mixed-order key here)', () => {
    const mixed = Uint8Array.from(Buffer.from('cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d', 'hex'));
    const before = counts.publicKey;
    for (let i = 0; i < 10; i++) expect(verifyEd25519(new Uint8Array(64).fill(1), new Uint8Array([i]), mixed)).toBe(false);
    expect(counts.publicKey - before).toBe(0);
  });
});
