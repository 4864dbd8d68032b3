export {
  BUNDLE_KIND,
  BUNDLE_METADATA_FILES,
  BUNDLE_MODES,
  BUNDLE_SCHEMA_VERSION,
  DSSE_FILE,
  DSSE_PAYLOAD_TYPE,
  IN_TOTO_STATEMENT_TYPE,
  MANIFEST_FILE,
  PREDICATE_TYPE,
  PUBLIC_KEY_FILE,
  REQUIRED_ARTIFACTS,
  SIGNATURE_FILE,
} from './constants.js';
export { fsyncDirectory, makeDirectories, writeFileAtomic } from './durable-file.js';
export { readFileCapped } from './read-capped.js';
export { VerifierError } from './errors.js';
export {
  computeDsseKeyId,
  computeKeyId,
  encodePublicKeyDer,
  encodePublicKeyPem,
  generateSigningKeyPem,
  parsePublicKeyPem,
  parseSigningKeyPem,
  verifyEd25519,
} from './keys.js';
export { DEFAULT_SIGNING_KEY_PATH, SIGNING_KEY_ENV, loadOrCreateSigningKey } from './key-store.js';
export { DsseEnvelopeSchema, InTotoStatementSchema, ManifestArtifactSchema, ManifestSchema, isPlainFileName } from './manifest-schema.js';
export { buildInTotoStatement, decodeCanonicalBase64, encodeDsseEnvelope, encodeDssePae } from './dsse.js';
export { buildManifest, encodeManifest, sealManifest, writeBundle } from './write-bundle.js';
export { CHECK_NAMES, verifyBundle } from './verify-bundle.js';
export { MAX_RECEIPT_PROBLEMS, createRuntimeReceiptChecker, verifyRuntimeReceipts } from './runtime-receipts.js';
export { formatVerificationReport } from './format-report.js';

export type { BundleMode } from './constants.js';
export type { VerifierErrorCode } from './errors.js';
export type { CappedReadFailure, CappedReadResult } from './read-capped.js';
export type { SigningKey } from './keys.js';
export type { LoadSigningKeyOptions, LoadedSigningKey } from './key-store.js';
export type { DsseEnvelope, InTotoStatement, Manifest, ManifestArtifact } from './manifest-schema.js';
export type { WriteBundleOptions } from './write-bundle.js';
export type {
  RuntimeReceiptChecker,
  RuntimeReceiptInputs,
  RuntimeReceiptProblem,
  RuntimeReceiptProblemCode,
  RuntimeReceiptReport,
} from './runtime-receipts.js';
export type { CheckCode, CheckName, VerificationCheck, VerificationReport, VerifyBundleOptions } from './verify-bundle.js';
