// The verifier's checks as one table, in the order they run. A row may rely on
// facts (BundleContext) that the rows above it establish; the report lists the
// outcomes in CHECK_NAMES order, which verify-bundle.ts takes from this table.
import { checkArtifactDigests, checkArtifactPaths, checkArtifactsRequired } from './artifacts.js';
import { checkEntriesAccounted, checkRegularFiles } from './bundle-entries.js';
import { checkDsseEnvelope } from './dsse-envelope.js';
import { checkManifestCanonical, checkManifestSchema, checkManifestStrictJson } from './manifest.js';
import { checkModeRules } from './mode-rules.js';
import { checkRuntimeReceipts } from './receipts.js';
import { checkPublicKey, checkSignature, checkSignerKeyId, checkSignerTrusted } from './signature.js';
import type { Check } from './types.js';

export const CHECKS: readonly Check[] = [
  { name: 'bundle.regular-files', run: checkRegularFiles },
  // manifest
  { name: 'manifest.strict-json', run: checkManifestStrictJson },
  { name: 'manifest.canonical', run: checkManifestCanonical },
  { name: 'manifest.schema', run: checkManifestSchema },
  // accounting needs the manifest's list
  { name: 'bundle.entries', run: checkEntriesAccounted },
  // signature and trust
  { name: 'public-key.valid', run: checkPublicKey },
  { name: 'signature.valid', run: checkSignature },
  { name: 'signer.key-id', run: checkSignerKeyId },
  { name: 'signer.trusted', run: checkSignerTrusted },
  // DSSE
  { name: 'dsse.envelope', run: checkDsseEnvelope },
  // artifacts, then what the same streaming pass read
  { name: 'artifacts.paths', run: checkArtifactPaths },
  { name: 'artifacts.required', run: checkArtifactsRequired },
  { name: 'artifacts.digests', run: checkArtifactDigests },
  { name: 'mode.rules', run: checkModeRules },
  { name: 'runtime.receipts', run: checkRuntimeReceipts },
];
