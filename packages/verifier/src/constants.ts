/** The one bundle kind this verifier knows, and whose required files it enforces. */
export const BUNDLE_KIND = 'lumenflow.trusted-compute.demo';

/** Bundle format version written to and required of `manifest.json`. */
export const BUNDLE_SCHEMA_VERSION = 1;

/** The nine proof files every bundle of {@link BUNDLE_KIND} must carry, in the documented order. */
export const REQUIRED_ARTIFACTS: readonly string[] = Object.freeze([
  'ask.json',
  'node-session.json',
  'policy-decisions.jsonl',
  'tool-calls.jsonl',
  'file-diff.patch',
  'test-results.json',
  'approval.json',
  'pr-summary.md',
  'replay-link.txt',
]);

export const MANIFEST_FILE = 'manifest.json';
export const SIGNATURE_FILE = 'manifest.sig';
export const PUBLIC_KEY_FILE = 'verifier-public-key.pem';
export const DSSE_FILE = 'manifest.dsse.json';

/**
 * The only names a bundle may hold besides the artifacts its manifest lists.
 * Anything else is unaccounted for and fails verification.
 */
export const BUNDLE_METADATA_FILES: readonly string[] = Object.freeze([MANIFEST_FILE, SIGNATURE_FILE, PUBLIC_KEY_FILE, DSSE_FILE]);

export const DSSE_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const IN_TOTO_STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const PREDICATE_TYPE = 'https://lumenflow.dev/proof/evidence-bundle/v1';

/** The mode values a manifest may carry: the outcome class of the run. */
export const BUNDLE_MODES = ['happy', 'policy-blocked'] as const;
export type BundleMode = (typeof BUNDLE_MODES)[number];
