import { CodedError } from '@lumenflow/protocol';

/**
 * Stable codes for runtime failures. Callers assert on `code`, never on `message`.
 *
 * - FIXTURE_MISSING: the fixture directory to copy into the workspace does not exist.
 * - WORKSPACE_FAILED: the temporary git workspace could not be prepared.
 * - GIT_FAILED: a git command the runtime needs for itself failed.
 * - SESSION_UNKNOWN: a message names a session this runtime never opened.
 * - ENROLL_REJECTED: Cloud did not confirm the runtime's enrollment.
 * - ENROLL_TIMEOUT: Cloud did not answer the enrollment in time (it does not answer a refused one).
 * - TOOL_TIMEOUT: a tool call ran past its bound and was stopped (a session.ended code).
 * - RULES_INVALID: the Cloud rules sent with a dispatch are not a valid rule set.
 * - ABORTED: the run was interrupted.
 * - SANDBOX_UNAVAILABLE: no OS sandbox can be had here (not Linux, bwrap missing, user namespaces off) and the local configuration did not opt out.
 * - SANDBOX_FAILED: the sandbox could not start a tool process.
 * - ATTRIBUTION_FAILED: a workspace change that Rules did not allow could not be reverted.
 * - AGENT_UNKNOWN: the Ask asks for an agent this runtime does not know (a session.ended code).
 * - REPOSITORY_NOT_SERVED: the Ask names a repository this runtime does not serve: not in its local rules file's `repositories`, nor the one its workspace holds (a session.ended code).
 * - REPO_NOT_GIT: the local path the runtime serves the Ask's repository from is not a git repository (a session.ended code).
 * - BASE_BRANCH_MISSING: the repository has no branch of the Ask's base branch's name (a session.ended code).
 */
export type RuntimeErrorCode =
  | 'FIXTURE_MISSING'
  | 'WORKSPACE_FAILED'
  | 'GIT_FAILED'
  | 'SESSION_UNKNOWN'
  | 'ENROLL_REJECTED'
  | 'ENROLL_TIMEOUT'
  | 'TOOL_TIMEOUT'
  | 'RULES_INVALID'
  | 'ABORTED'
  | 'SANDBOX_UNAVAILABLE'
  | 'SANDBOX_FAILED'
  | 'ATTRIBUTION_FAILED'
  | 'REPOSITORY_NOT_SERVED'
  | 'AGENT_UNKNOWN'
  | 'REPO_NOT_GIT'
  | 'BASE_BRANCH_MISSING';

/** A coded runtime failure. Never carries key material or file contents in its message. */
export class RuntimeError extends CodedError<RuntimeErrorCode> {
  override readonly name = 'RuntimeError';
}
