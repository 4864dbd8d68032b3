import { z } from 'zod';
import { IdSchema, Sha256DigestSchema, TimestampSchema } from '@lumenflow/protocol';
import { BUNDLE_MODES, BUNDLE_SCHEMA_VERSION } from './constants.js';

const HEX_SHA256 = /^[0-9a-f]{64}$/;

/** One file of the bundle as the manifest commits to it. */
export const ManifestArtifactSchema = z.strictObject({
  // Kept a plain string here so that a traversal attempt is reported by the
  // dedicated path check with its own code, not as a generic schema failure.
  path: z.string().min(1),
  sha256: z.string().regex(HEX_SHA256, 'expected 64 lowercase hex digits'),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
});

/** manifest.json of an evidence bundle, version 1. Strict: unknown fields are errors. */
export const ManifestSchema = z.strictObject({
  schemaVersion: z.literal(BUNDLE_SCHEMA_VERSION),
  bundleKind: z.string().min(1),
  runId: IdSchema,
  mode: z.enum(BUNDLE_MODES),
  createdAt: TimestampSchema,
  requiredArtifacts: z.array(z.string().min(1)),
  artifacts: z.array(ManifestArtifactSchema),
  signer: z.strictObject({
    keyId: Sha256DigestSchema,
    algorithm: z.literal('ed25519'),
  }),
});

export type Manifest = z.infer<typeof ManifestSchema>;
export type ManifestArtifact = z.infer<typeof ManifestArtifactSchema>;

/** DSSE envelope as written to manifest.dsse.json, with exactly one signature. */
export const DsseEnvelopeSchema = z.strictObject({
  payloadType: z.string(),
  payload: z.string(),
  signatures: z.array(z.strictObject({ keyid: z.string(), sig: z.string() })).length(1),
});

export type DsseEnvelope = z.infer<typeof DsseEnvelopeSchema>;

/** The in-toto Statement v1 inside the envelope. */
export const InTotoStatementSchema = z.strictObject({
  _type: z.string(),
  subject: z.array(
    z.strictObject({
      name: z.string().min(1),
      digest: z.strictObject({ sha256: z.string().regex(HEX_SHA256, 'expected 64 lowercase hex digits') }),
    }),
  ),
  predicateType: z.string(),
  predicate: z.strictObject({
    bundleKind: z.string(),
    runId: z.string(),
    mode: z.string(),
    createdAt: z.string(),
  }),
});

export type InTotoStatement = z.infer<typeof InTotoStatementSchema>;

/**
 * A plain file name: no separators, no `..`, no leading dot, no control
 * characters. Artifact paths come from an attacker-controlled manifest and are
 * joined onto the bundle directory, so anything else could escape it.
 */
export function isPlainFileName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(name);
}
