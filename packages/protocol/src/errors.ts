import { CodedError } from './coded-error.js';

/**
 * Stable codes for malformed input to the shared formats. Callers assert on
 * `code`, never on `message`.
 */
export type ProtocolErrorCode =
  | 'JSON_SYNTAX'
  | 'JSON_DUPLICATE_KEY'
  | 'JSON_UNSAFE_NUMBER'
  | 'JSON_LONE_SURROGATE'
  | 'JSON_BOM'
  | 'JSON_NOT_CANONICALIZABLE'
  | 'SCHEMA_INVALID'
  | 'TRANSPORT_CLOSED';

/** Bad input to a protocol format. Carries a literal code and, for JSON, a position and path. */
export class ProtocolError extends CodedError<ProtocolErrorCode> {
  override readonly name = 'ProtocolError';
}
