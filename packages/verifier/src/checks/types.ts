import type { Dirent } from 'node:fs';
import type { JsonValue } from '@lumenflow/protocol';
import type { Manifest } from '../manifest-schema.js';

/** Every check the verifier reports, in report order. */
export const CHECK_NAMES = [
  'bundle.entries',
  'bundle.regular-files',
  'manifest.strict-json',
  'manifest.canonical',
  'manifest.schema',
  'public-key.valid',
  'signature.valid',
  'signer.key-id',
  'signer.trusted',
  'dsse.envelope',
  'artifacts.paths',
  'artifacts.required',
  'artifacts.digests',
  'mode.rules',
  'runtime.receipts',
] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

/** Stable codes a failing (or, for SIGNER_NOT_PINNED, noteworthy) check carries. */
export type CheckCode =
  | 'UNEXPECTED_ENTRY'
  | 'NOT_REGULAR_FILE'
  | 'MANIFEST_MISSING'
  | 'MANIFEST_TOO_LARGE'
  | 'MANIFEST_UNREADABLE'
  | 'MANIFEST_DUPLICATE_KEY'
  | 'MANIFEST_INVALID_JSON'
  | 'MANIFEST_NOT_CANONICAL'
  | 'MANIFEST_SCHEMA_UNSUPPORTED'
  | 'MANIFEST_BUNDLE_KIND_UNSUPPORTED'
  | 'MANIFEST_SCHEMA_INVALID'
  | 'PUBLIC_KEY_MISSING'
  | 'PUBLIC_KEY_INVALID'
  | 'PUBLIC_KEY_WEAK'
  | 'SIGNATURE_MISSING'
  | 'SIGNATURE_MALFORMED'
  | 'SIGNATURE_INVALID'
  | 'KEY_ID_MISMATCH'
  | 'SIGNER_UNTRUSTED'
  | 'SIGNER_NOT_PINNED'
  | 'DSSE_MISSING'
  | 'DSSE_INVALID'
  | 'DSSE_SIGNATURE_INVALID'
  | 'DSSE_KEY_ID_MISMATCH'
  | 'DSSE_SUBJECTS_MISMATCH'
  | 'ARTIFACT_PATH_INVALID'
  | 'ARTIFACT_DUPLICATE'
  | 'REQUIRED_ARTIFACT_UNLISTED'
  | 'ARTIFACT_MISSING'
  | 'ARTIFACT_UNREADABLE'
  | 'ARTIFACT_SIZE_MISMATCH'
  | 'ARTIFACT_DIGEST_MISMATCH'
  | 'MODE_RECORD_INVALID'
  | 'MODE_RULE_VIOLATED'
  | 'RECEIPTS_ABSENT'
  | 'RUNTIME_EVIDENCE_INVALID'
  | 'RUNTIME_KEY_INVALID'
  | 'RUNTIME_KEY_MISMATCH'
  | 'RECEIPT_MISSING'
  | 'RECEIPT_DUPLICATE'
  | 'RECEIPT_UNMATCHED'
  | 'RECEIPT_SIGNATURE_INVALID'
  | 'RECEIPT_BASE_MISMATCH'
  | 'CHECK_SKIPPED';

/** What one check concluded; the report adds its name. */
export type Outcome = { ok: true; code?: CheckCode; detail?: string } | { ok: false; code: CheckCode; detail: string };

/** The signer the caller pinned, already parsed. */
export interface Pins {
  pinned: boolean;
  publicKey?: Uint8Array;
  keyId?: string;
}

/**
 * What the checks share while one bundle is verified. The first three fields are
 * given; the rest are facts that a check establishes for the checks after it in
 * the table (run order), and stay unset when that check fails.
 */
export interface BundleContext {
  readonly root: string;
  readonly entries: readonly Dirent[];
  readonly pin: Pins;
  /** manifest.strict-json: the bytes read, their SHA-256 (hex), and the value parsed from them. */
  manifestBytes?: Uint8Array;
  manifestSha256?: string;
  parsedManifest?: JsonValue;
  /** manifest.schema: the manifest, valid against its schema. */
  manifest?: Manifest;
  /** public-key.valid: the bundle's canonical Ed25519 key and its key id. */
  bundleKey?: Uint8Array;
  bundleKeyId?: string;
}

/** One named check: a row of the table in table.ts. */
export interface Check {
  readonly name: CheckName;
  run(ctx: BundleContext): Outcome | Promise<Outcome>;
}

export function passed(detail?: string): Outcome {
  return detail === undefined ? { ok: true } : { ok: true, detail };
}

export function failed(code: CheckCode, detail: string): Outcome {
  return { ok: false, code, detail };
}

/** A check that could not run because what it needs is missing or invalid. */
export function notRun(why?: string): Outcome {
  return { ok: false, code: 'CHECK_SKIPPED', detail: why === undefined ? 'not run' : `not run: ${why}` };
}
