import { canonicalizeToBytes } from '@lumenflow/protocol';
import { DSSE_PAYLOAD_TYPE, IN_TOTO_STATEMENT_TYPE, PREDICATE_TYPE } from './constants.js';
import type { DsseEnvelope, InTotoStatement, Manifest } from './manifest-schema.js';
import { computeDsseKeyId } from './keys.js';
import type { SigningKey } from './keys.js';

/**
 * DSSE v1 pre-authentication encoding: `"DSSEv1" SP len(type) SP type SP len(body) SP body`,
 * lengths in bytes as ASCII decimal.
 */
export function encodeDssePae(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = new TextEncoder().encode(payloadType);
  const head = new TextEncoder().encode(`DSSEv1 ${type.length} `);
  const mid = new TextEncoder().encode(` ${payload.length} `);
  const out = new Uint8Array(head.length + type.length + mid.length + payload.length);
  out.set(head, 0);
  out.set(type, head.length);
  out.set(mid, head.length + type.length);
  out.set(payload, head.length + type.length + mid.length);
  return out;
}

/** The in-toto Statement v1 for a bundle: every artifact plus manifest.json as subjects. */
export function buildInTotoStatement(manifest: Manifest, manifestFileName: string, manifestSha256Hex: string): InTotoStatement {
  const subject = [
    ...manifest.artifacts.map((a) => ({ name: a.path, digest: { sha256: a.sha256 } })),
    { name: manifestFileName, digest: { sha256: manifestSha256Hex } },
  ].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    _type: IN_TOTO_STATEMENT_TYPE,
    subject,
    predicateType: PREDICATE_TYPE,
    predicate: { bundleKind: manifest.bundleKind, runId: manifest.runId, mode: manifest.mode, createdAt: manifest.createdAt },
  };
}

/** Signs a statement as a DSSE envelope and returns the envelope's RFC 8785 bytes. */
export function encodeDsseEnvelope(statement: InTotoStatement, signingKey: SigningKey): Uint8Array {
  const payload = canonicalizeToBytes(statement);
  const sig = signingKey.sign(encodeDssePae(DSSE_PAYLOAD_TYPE, payload));
  const envelope: DsseEnvelope = {
    payloadType: DSSE_PAYLOAD_TYPE,
    payload: Buffer.from(payload).toString('base64'),
    signatures: [{ keyid: computeDsseKeyId(signingKey.keyId), sig: Buffer.from(sig).toString('base64') }],
  };
  return canonicalizeToBytes(envelope);
}

/** Decodes standard padded base64, or returns undefined unless the text is its canonical form. */
export function decodeCanonicalBase64(text: string): Uint8Array | undefined {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  // Re-encoding catches non-zero padding bits: two spellings of one byte string would
  // let a single changed character go unnoticed.
  return bytes.toString('base64') === text ? new Uint8Array(bytes) : undefined;
}
