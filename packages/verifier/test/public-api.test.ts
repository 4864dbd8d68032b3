import { describe, expect, it } from 'vitest';
import * as verifier from '@lumenflow/verifier';

describe('@lumenflow/verifier public API', () => {
  it('exports the agreed names', () => {
    const functions = [
      'parseSigningKeyPem',
      'generateSigningKeyPem',
      'parsePublicKeyPem',
      'computeKeyId',
      'computeDsseKeyId',
      'verifyEd25519',
      'loadOrCreateSigningKey',
      'writeBundle',
      'verifyBundle',
      'formatVerificationReport',
      'verifyRuntimeReceipts',
      'createRuntimeReceiptChecker',
      'fsyncDirectory',
      'writeFileAtomic',
      'makeDirectories',
      'readFileCapped',
      'VerifierError',
    ] as const;
    for (const name of functions) expect(typeof verifier[name], name).toBe('function');
    expect(verifier.BUNDLE_KIND).toBe('lumenflow.trusted-compute.demo');
    expect(verifier.REQUIRED_ARTIFACTS).toEqual([
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
    expect(Object.isFrozen(verifier.REQUIRED_ARTIFACTS)).toBe(true);
    expect(verifier.BUNDLE_METADATA_FILES).toEqual(['manifest.json', 'manifest.sig', 'verifier-public-key.pem', 'manifest.dsse.json']);
    expect(typeof verifier.ManifestSchema.safeParse).toBe('function');
    expect(verifier.DEFAULT_SIGNING_KEY_PATH).toBe('.lumenflow/keys/demo-signing-key.pem');
  });

  it('VerifierError carries a code and is an Error', () => {
    const error = new verifier.VerifierError('BUNDLE_EXISTS', 'x');
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('BUNDLE_EXISTS');
  });
});
