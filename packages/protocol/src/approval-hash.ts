import { canonicalize } from './canonical-json.js';
import { computeSha256Digest } from './connections.js';
import type { ApprovalRecord } from './schemas.js';

/** The action an approval request is about (a pull request into one repository and base). */
export type ApprovalAction = NonNullable<ApprovalRecord['request']>['action'];

/**
 * The hash that binds an approval to one exact action: `sha256:` of the
 * RFC 8785 form of `{ action, diffSha256, prTextSha256 }`. Changing the diff,
 * the PR text, the repository, the base or the head gives a different hash, so
 * an approval cannot be replayed onto something else. Cloud makes it; Replay
 * checks it.
 */
export function computeApprovalActionHash(action: ApprovalAction, diffSha256: string, prTextSha256: string): string {
  return computeSha256Digest(new TextEncoder().encode(canonicalize({ action, diffSha256, prTextSha256 })));
}
