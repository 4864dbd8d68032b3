// The pull-request step: Cloud carries out an approved pr.create, bound to its actionHash (docs/pull-requests.md, ADR 0037).
export { checkPrBinding } from './binding.js';
export { PR_TOKEN_ENV, createPushToken, readPushToken } from './credential-helper.js';
export { buildPullRequestEvidence } from './evidence.js';
export { DEFAULT_GITHUB_API_URL } from './github-provider.js';
export { PATCH_PROVIDER_FILES } from './patch-provider.js';
export { PR_COMMIT_IDENTITY, performPullRequest, prBranchName } from './perform.js';
export { joinPrText, splitPrText } from './pr-text.js';
export { applyPullRequestStep } from './step.js';
export { PR_PROVIDER_KINDS } from './types.js';
export { openPrUseLedger } from './use-ledger.js';

export type { BindingVerdict, RecordedUse } from './binding.js';
export type { PushToken } from './credential-helper.js';
export type { PullRequestConfig, PullRequestStepInput, PullRequestStepResult } from './perform.js';
export type { PrText } from './pr-text.js';
export type { PullRequestStepOutcome } from './step.js';
export type { PrCandidate, PrCode, PrProviderKind } from './types.js';
export type { PrUseLedger, UseEntry } from './use-ledger.js';
