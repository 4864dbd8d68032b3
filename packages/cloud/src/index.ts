export { CloudError } from './errors.js';
export { parseAsk } from './ask-intake.js';
export {
  DEFAULT_APPROVAL_TTL_MS,
  createApprovalRequest,
  resolveApproval,
  sha256Digest,
} from './approvals.js';
export { computeDiffStat, derivePrTitle, renderNoPrSummary, renderPrSummary } from './pr-summary.js';
export { selectRuntime } from './registry.js';
export { DEFAULT_SESSION_TIMEOUT_MS, RUN_STEPS, createCloud } from './cloud.js';
export { formatJsonFile, formatJsonLines } from './proof-files.js';
export {
  DEFAULT_GITHUB_API_URL,
  PATCH_PROVIDER_FILES,
  PR_PROVIDER_KINDS,
  PR_TOKEN_ENV,
  applyPullRequestStep,
  checkPrBinding,
  createPushToken,
  openPrUseLedger,
  performPullRequest,
  prBranchName,
  readPushToken,
} from './pull-request/index.js';
export {
  DEFAULT_ENROLL_TOKEN_TTL_MS,
  authenticateRequest,
  createEnrollToken,
  createHttpCloudEndpoint,
  createNonceCache,
  hashEnrollToken,
  openConnectionsServer,
  verifyRuntimeReceipts,
  completePendingApproval,
  createStoreOperatorApi,
  issueEnrollToken,
  listPendingApprovals,
  loadPendingApproval,
  loadPendingApprovals,
  markApprovalSettled,
  openOperatorApi,
  recordApprovalAnswer,
  openOperatorDesk,
  readAskOutcome,
  readPendingApproval,
  savePendingApproval,
  submitApprovalAnswer,
  submitAsk,
} from './connections/index.js';
export { MIGRATIONS, SCHEMA_VERSION, migrate } from './store/migrations.js';
export { CHANNELS, createCloudStore, openCloudStore } from './store/cloud-store.js';

export type { CloudErrorCode } from './errors.js';
export type { ApprovalAction, ApprovalAnswer, ApprovalRequest, ApprovalSubject, Approver } from './approvals.js';
export type { DiffStat } from './pr-summary.js';
export type { PrCode, PrProviderKind, PrUseLedger, PullRequestConfig, PullRequestStepOutcome, PullRequestStepResult, PushToken } from './pull-request/index.js';
export type { EnrolledRuntime } from './registry.js';
export type { Cloud, CloudOptions, PendingApprovalSnapshot, RunEnding, RunProgress, RunRequest, RunResult, RunStep } from './cloud.js';
export type {
  AcceptedRecord,
  ConnectionsServer,
  ConnectionsServerOptions,
  NonceCache,
  RequestAuthFailure,
  RequestAuthResult,
  RuntimeReceiptInputs,
  RuntimeReceiptProblem,
  RuntimeReceiptProblemCode,
  RuntimeReceiptReport,
  RuntimeStatus,
  RuntimeSummary,
  SignedRequest,
  WorkSummary,
  AskOutcome,
  OperatorDesk,
  OperatorDeskOptions,
  OperatorAccess,
  OperatorApi,
  PendingApproval,
} from './connections/index.js';
export type { Migration } from './store/migrations.js';
export type { AskHold, AskRow, ApprovalRow, CloudStore, EvidenceNotice, RuntimeRow, StoredEvidence, TakenAsk, WorkRow } from './store/cloud-store.js';
export type { SqlDb, SqlRunner } from './store/sql.js';
