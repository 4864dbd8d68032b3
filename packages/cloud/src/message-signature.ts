import { canonicalizeToBytes } from '@lumenflow/protocol';
import type { RuntimeToCloudMessage } from '@lumenflow/protocol';
import { verifyEd25519 } from '@lumenflow/verifier';
import type { EnrolledRuntime } from './registry.js';

/** Whether a runtime message is signed, over its RFC 8785 form without `signature`, by this runtime's enrolled key. */
export function checkMessageSignature(message: RuntimeToCloudMessage, runtime: Pick<EnrolledRuntime, 'keyId' | 'publicKey'>): boolean {
  if (message.signature.keyId !== runtime.keyId) return false;
  const { signature, ...unsigned } = message;
  const bytes = Buffer.from(signature.value, 'base64');
  return verifyEd25519(new Uint8Array(bytes), canonicalizeToBytes(unsigned), runtime.publicKey);
}
