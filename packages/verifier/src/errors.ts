import { CodedError } from '@lumenflow/protocol';

/**
 * Stable codes for failures the verifier package throws. Report entries of a
 * verification use the separate {@link CheckCode} set. Callers assert on
 * `code`, never on `message`.
 */
export type VerifierErrorCode =
  | 'BUNDLE_NOT_FOUND'
  | 'BUNDLE_NOT_DIRECTORY'
  | 'BUNDLE_UNREADABLE'
  | 'BUNDLE_EXISTS'
  | 'BUNDLE_INPUT_INVALID'
  | 'BUNDLE_WRITE_FAILED'
  | 'SIGNING_KEY_INVALID'
  | 'SIGNING_KEY_UNREADABLE'
  | 'SIGNING_KEY_PERMISSIONS'
  | 'SIGNING_KEY_NOT_FILE'
  | 'SIGNING_KEY_CREATE_FAILED'
  | 'PUBLIC_KEY_INVALID'
  | 'PUBLIC_KEY_WEAK'
  | 'TRUSTED_KEY_INVALID'
  | 'EXPECTED_KEY_ID_INVALID';

/** A coded failure of the verifier package. Never carries key material in its message. */
export class VerifierError extends CodedError<VerifierErrorCode> {
  override readonly name = 'VerifierError';
}
