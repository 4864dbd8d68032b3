import { mergeRedactionSummaries } from '@lumenflow/protocol';
import type { Redactor, UnsignedRuntimeMessage } from '@lumenflow/protocol';
import { RuntimeError } from './errors.js';

/**
 * The runtime's one redaction point (ADR 0034): every message it sends passes
 * here before it is signed. An evidence record is redacted field by field
 * and carries a summary of what was (`redaction`: counts, kinds, fields,
 * never values), so the signature covers what the bundle will hold. Any
 * other message is redacted whole (a failure's reason, a label). Signatures,
 * keys, digests and ids are left as they are (`isProtectedField`).
 *
 * A diff is never rewritten: a redacted patch would not apply. One that
 * still holds a secret is refused.
 *
 * @throws {RuntimeError} SECRET_IN_DIFF for a diff holding a secret.
 */
export function redactMessage(redactor: Redactor, message: UnsignedRuntimeMessage): UnsignedRuntimeMessage {
  switch (message.type) {
    case 'evidence.policy-decision':
    case 'evidence.tool-call':
    case 'evidence.test-results': {
      const { value, summary } = redactor.redactValue(message.record);
      if (summary === undefined) return message;
      const redaction = mergeRedactionSummaries(message.record.redaction, summary);
      return { ...message, record: { ...value, redaction } } as UnsignedRuntimeMessage;
    }
    case 'evidence.diff': {
      const kind = redactor.findSecret(message.patch);
      if (kind !== undefined) {
        throw new RuntimeError('SECRET_IN_DIFF', `the change holds a secret (${kind}) that was in the workspace before the session; no diff is sent, so it cannot reach a pull request`);
      }
      return message;
    }
    default:
      return redactor.redactValue(message).value;
  }
}
