import { CodedError } from '@lumenflow/protocol';

/**
 * Stable codes for Cloud failures. Callers assert on `code`, never on `message`.
 *
 * - ASK_INVALID: the Ask is not strict JSON or does not match AskSchema (with line, column and path).
 * - NO_MATCHING_RUNTIME: no enrolled runtime carries every label the Ask needs.
 * - ENROLL_INVALID: an enrollment's key or signature did not check out.
 * - MESSAGE_REJECTED: a runtime message was unsigned, signed by another key, or out of place.
 * - SESSION_FAILED: the runtime could not open or run the session.
 * - SESSION_TIMEOUT: the runtime did not accept the session in time (a session that
 *   was accepted and then went silent is recorded as failed with this code instead).
 * - RUNTIME_TIMEOUT: no runtime with the Ask's labels enrolled in time.
 * - APPROVAL_SELF_APPROVAL: the approver is the requester.
 * - APPROVAL_EXPIRED: the request expired before it was answered.
 * - APPROVAL_INVALID: an approval answer is malformed.
 * - ABORTED: the run was interrupted.
 * - ASK_TAKEN_OVER: another Cloud on the database took the Ask over (this one was paused or cut off past its lease); this run stops.
 * - DATA_DIR_FILE_STATE: the data directory holds the file-backed state of an earlier Cloud (ADR 0040).
 * - DATA_DIR_LOCKED: another live process holds the embedded database of this data directory.
 * - DATABASE_UNREACHABLE: no connection to the --database-url server.
 * - SCHEMA_TOO_NEW: the database was migrated by a newer Cloud than this one.
 * - CLOUD_UNREACHABLE: an operator command found a Cloud that holds the database but does not answer.
 * - OPERATOR_UNAUTHORIZED: an operator request without the data directory's operator token.
 */
export type CloudErrorCode =
  | 'ASK_INVALID'
  | 'NO_MATCHING_RUNTIME'
  | 'ENROLL_INVALID'
  | 'MESSAGE_REJECTED'
  | 'SESSION_FAILED'
  | 'SESSION_TIMEOUT'
  | 'RUNTIME_TIMEOUT'
  | 'APPROVAL_SELF_APPROVAL'
  | 'APPROVAL_EXPIRED'
  | 'APPROVAL_INVALID'
  | 'ABORTED'
  | 'ASK_TAKEN_OVER'
  | 'DATA_DIR_FILE_STATE'
  | 'DATA_DIR_LOCKED'
  | 'DATABASE_UNREACHABLE'
  | 'SCHEMA_TOO_NEW'
  | 'CLOUD_UNREACHABLE'
  | 'OPERATOR_UNAUTHORIZED';

/** A coded Cloud failure. Positions are 1-based; `path` is dotted (`requestedScopes[2].kind`). */
export class CloudError extends CodedError<CloudErrorCode> {
  override readonly name = 'CloudError';
}
