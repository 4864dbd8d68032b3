export { CloudError } from './errors.js';
export { parseAsk, locateJsonPath } from './ask-intake.js';
export {
  DEFAULT_APPROVAL_TTL_MS,
  computeApprovalActionHash,
  createApprovalRequest,
  resolveApproval,
  sha256Digest,
} from './approvals.js';
export { computeDiffStat, derivePrTitle, renderNoPrSummary, renderPrSummary } from './pr-summary.js';
export { selectRuntime } from './registry.js';
export { DEFAULT_SESSION_TIMEOUT_MS, RUN_STEPS, createCloud, formatJsonFile, formatJsonLines } from './cloud.js';
export {
  CHAIN_CHECK_CODES,
  DEFAULT_REPLAY_BASE_URL,
  DEFAULT_REPLAY_PORT,
  REPLAY_PAGE_CSP,
  STEP_LABELS,
  assembleChain,
  buildReplayReport,
  buildReplayUrl,
  buildTimeline,
  checkChain,
  computeActionHash,
  escapeHtml,
  formatDuration,
  formatReplayReport,
  hashBytes,
  readBundleForReplay,
  renderReplayHtml,
  replayBundle,
  sanitizeForTerminal,
  startReplayServer,
} from './replay/index.js';
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
  listPendingApprovals,
  openOperatorDesk,
  readAskOutcome,
  readPendingApproval,
  savePendingApproval,
  submitApprovalAnswer,
  submitAsk,
} from './connections/index.js';

export type {
  ChainCheck,
  ChainCheckCode,
  ChainFinding,
  ChainLink,
  ChainStep,
  ChainText,
  ChainToolCall,
  ReplayBundleFiles,
  ReplayChain,
  ReplayManifestInfo,
  ReplayReadProblem,
  ReplayReadProblemCode,
  ReplayReport,
  ReplayServer,
  TimelineEvent,
} from './replay/index.js';
export type { CloudErrorCode } from './errors.js';
export type { ApprovalAction, ApprovalAnswer, ApprovalRequest, ApprovalSubject, Approver } from './approvals.js';
export type { DiffStat } from './pr-summary.js';
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
  StoredEvidence,
  WorkSummary,
  AskOutcome,
  OperatorDesk,
  OperatorDeskOptions,
  PendingApproval,
} from './connections/index.js';
