// Family: signature and trust. The bundle's own key, its signature over the exact
// manifest bytes, the key id the manifest names, and whether the signer is the pinned one.
import { timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import { Sha256DigestSchema } from '@lumenflow/protocol';
import { MANIFEST_FILE, PUBLIC_KEY_FILE, SIGNATURE_FILE } from '../constants.js';
import { VerifierError } from '../errors.js';
import { computeKeyId, encodePublicKeyDer, isCanonicalPublicKeyPem, parsePublicKeyPem, verifyEd25519 } from '../keys.js';
import { readFileCapped } from '../read-capped.js';
import { failed, notRun, passed } from './types.js';
import type { BundleContext, Outcome, Pins } from './types.js';

const MAX_PEM_BYTES = 16 * 1024;
const MAX_SIG_BYTES = 1024;

/**
 * Parses the caller's pins before any bundle byte is read.
 * @throws {VerifierError} TRUSTED_KEY_INVALID or EXPECTED_KEY_ID_INVALID.
 */
export function parsePins(opts: { trustedPublicKeyPem?: string | undefined; expectKeyId?: string | undefined }): Pins {
  const out: Pins = { pinned: false };
  if (opts.trustedPublicKeyPem !== undefined) {
    try {
      out.publicKey = parsePublicKeyPem(opts.trustedPublicKeyPem);
    } catch (cause) {
      if (!(cause instanceof VerifierError)) throw cause;
      throw new VerifierError('TRUSTED_KEY_INVALID', `trusted key is unusable: ${cause.message}`, { cause });
    }
    out.pinned = true;
  }
  if (opts.expectKeyId !== undefined) {
    if (!Sha256DigestSchema.safeParse(opts.expectKeyId).success) {
      throw new VerifierError('EXPECTED_KEY_ID_INVALID', 'expected key id must be sha256:<64 lowercase hex>');
    }
    out.keyId = opts.expectKeyId;
    out.pinned = true;
  }
  return out;
}

/** Establishes bundleKey and bundleKeyId. */
export async function checkPublicKey(ctx: BundleContext): Promise<Outcome> {
  const read = await readFileCapped(join(ctx.root, PUBLIC_KEY_FILE), MAX_PEM_BYTES);
  if (!read.ok) return failed(read.reason === 'missing' ? 'PUBLIC_KEY_MISSING' : 'PUBLIC_KEY_INVALID', `${PUBLIC_KEY_FILE}: ${read.detail}`);
  const text = Buffer.from(read.bytes).toString('utf8');
  try {
    const key = parsePublicKeyPem(text);
    if (!isCanonicalPublicKeyPem(text, key)) return failed('PUBLIC_KEY_INVALID', `${PUBLIC_KEY_FILE} is not in canonical SPKI PEM form`);
    ctx.bundleKey = key;
    ctx.bundleKeyId = computeKeyId(encodePublicKeyDer(key));
    return passed(ctx.bundleKeyId);
  } catch (error) {
    if (!(error instanceof VerifierError)) throw error;
    return failed(error.code === 'PUBLIC_KEY_WEAK' ? 'PUBLIC_KEY_WEAK' : 'PUBLIC_KEY_INVALID', `${PUBLIC_KEY_FILE}: ${error.message}`);
  }
}

export async function checkSignature(ctx: BundleContext): Promise<Outcome> {
  const read = await readFileCapped(join(ctx.root, SIGNATURE_FILE), MAX_SIG_BYTES);
  if (!read.ok) return failed(read.reason === 'missing' ? 'SIGNATURE_MISSING' : 'SIGNATURE_MALFORMED', `${SIGNATURE_FILE}: ${read.detail}`);
  if (read.bytes.length !== 64) return failed('SIGNATURE_MALFORMED', `${SIGNATURE_FILE} holds ${read.bytes.length} bytes; a raw Ed25519 signature is 64`);
  if (!ctx.manifestBytes || !ctx.bundleKey) return notRun(`needs ${!ctx.manifestBytes ? MANIFEST_FILE : 'a valid public key'}`);
  if (verifyEd25519(read.bytes, ctx.manifestBytes, ctx.bundleKey)) return passed('Ed25519 (RFC 8032, strict) over the exact bytes of manifest.json');
  return failed('SIGNATURE_INVALID', `${SIGNATURE_FILE} does not verify over ${MANIFEST_FILE} with ${PUBLIC_KEY_FILE}`);
}

export function checkSignerKeyId(ctx: BundleContext): Outcome {
  if (!ctx.manifest || !ctx.bundleKeyId) return notRun(`needs ${!ctx.manifest ? 'a valid manifest' : 'a valid public key'}`);
  if (ctx.manifest.signer.keyId === ctx.bundleKeyId) return passed();
  return failed('KEY_ID_MISMATCH', `manifest names signer ${ctx.manifest.signer.keyId}, but ${PUBLIC_KEY_FILE} is ${ctx.bundleKeyId}`);
}

export function checkSignerTrusted(ctx: BundleContext): Outcome {
  const { pin, bundleKey, bundleKeyId } = ctx;
  if (!pin.pinned) {
    // The PEM in the bundle is attacker-controlled: without a pin, a re-signed bundle passes.
    return {
      ok: true,
      code: 'SIGNER_NOT_PINNED',
      detail: 'signer is NOT pinned: the bundle only agrees with itself; pass --trusted-key or --expect-key-id to trust a signer',
    };
  }
  if (!bundleKey || !bundleKeyId) return failed('SIGNER_UNTRUSTED', 'no valid public key in the bundle to compare with the pinned signer');
  const mismatches: string[] = [];
  if (pin.keyId !== undefined && pin.keyId !== bundleKeyId) mismatches.push(`expected key id ${pin.keyId}`);
  if (pin.publicKey !== undefined && !timingSafeEqual(pin.publicKey, bundleKey)) mismatches.push('the trusted key differs');
  if (mismatches.length > 0) return failed('SIGNER_UNTRUSTED', `signer ${bundleKeyId} is not the pinned signer: ${mismatches.join('; ')}`);
  return passed(`signer pinned: ${bundleKeyId}`);
}
