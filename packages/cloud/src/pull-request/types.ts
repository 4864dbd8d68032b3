import type { ApprovalAction } from '@lumenflow/protocol';

/** How the approved pull request is carried out. */
export type PrProviderKind = 'patch' | 'git-remote' | 'github';
export const PR_PROVIDER_KINDS: readonly PrProviderKind[] = Object.freeze(['patch', 'git-remote', 'github']);

/**
 * Why a pull-request step refused or failed. Refusals (the binding did not
 * hold) push nothing; failures happened while pushing or calling the API.
 *
 * - PR_APPROVAL_MISSING: no approval was requested for this run.
 * - PR_APPROVAL_REJECTED / PR_APPROVAL_EXPIRED: the approval is not (or no longer) a yes.
 * - PR_APPROVAL_USED: the approval was already used for another action.
 * - PR_BASE_CHANGED: the commit the change would sit on is not the approved base.
 * - PR_DIFF_CHANGED: the diff about to be pushed is not the approved file-diff.patch.
 * - PR_TEXT_CHANGED: the title and body are not the approved pr-summary.md.
 * - PR_ACTION_CHANGED: repository, base branch or head branch differ from the approved action.
 * - PR_CONFIG_INVALID: the provider's configuration is incomplete (no remote, no token, bad repo name).
 * - PR_PATCH_DOES_NOT_APPLY: the approved patch does not apply on the approved base.
 * - PR_BASE_UNAVAILABLE: the base commit cannot be fetched from the remote.
 * - PR_PUSH_REJECTED / PR_PUSH_AUTH_FAILED / PR_REMOTE_UNREACHABLE: the push failed.
 * - PR_API_UNAUTHORIZED (401), PR_API_FORBIDDEN (403), PR_API_NOT_FOUND (404),
 *   PR_API_UNPROCESSABLE (422), PR_API_FAILED (other), PR_API_UNREACHABLE (network).
 */
export type PrCode =
  | 'PR_APPROVAL_MISSING'
  | 'PR_APPROVAL_REJECTED'
  | 'PR_APPROVAL_EXPIRED'
  | 'PR_APPROVAL_USED'
  | 'PR_BASE_CHANGED'
  | 'PR_DIFF_CHANGED'
  | 'PR_TEXT_CHANGED'
  | 'PR_ACTION_CHANGED'
  | 'PR_CONFIG_INVALID'
  | 'PR_PATCH_DOES_NOT_APPLY'
  | 'PR_BASE_UNAVAILABLE'
  | 'PR_PUSH_REJECTED'
  | 'PR_PUSH_AUTH_FAILED'
  | 'PR_REMOTE_UNREACHABLE'
  | 'PR_API_UNAUTHORIZED'
  | 'PR_API_FORBIDDEN'
  | 'PR_API_NOT_FOUND'
  | 'PR_API_UNPROCESSABLE'
  | 'PR_API_FAILED'
  | 'PR_API_UNREACHABLE'
  | 'PR_INTERNAL';

/** The action a provider is about to carry out, in the approval's own terms plus the base commit. */
export interface PrCandidate {
  action: ApprovalAction;
  /** The diff of the commit about to be pushed against its base. */
  diff: string;
  /** The title and body joined as pr-summary.md. */
  prText: string;
}
