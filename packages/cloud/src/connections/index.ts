export { createFileExclusive, listJsonFiles, readFileIfExists } from './atomic-file.js';
export { DEFAULT_ENROLL_TOKEN_TTL_MS, TokenRecordSchema, createEnrollToken, hashEnrollToken, tokenRecordPath } from './enroll-token.js';
export { createHttpCloudEndpoint } from './http-cloud-endpoint.js';
export { authenticateRequest, createNonceCache } from './request-auth.js';
export { openConnectionsServer } from './server.js';
export {
  ApprovalAnswerSchema,
  PendingApprovalSchema,
  approvalPaths,
  completePendingApproval,
  listPendingApprovals,
  markApprovalSettled,
  readApprovalAnswer,
  readPendingApproval,
  refuseApprovalAnswer,
  savePendingApproval,
  submitApprovalAnswer,
} from './approval-store.js';
export { askPaths, openOperatorDesk, readAskOutcome, submitAsk } from './operator-desk.js';
export { EvidenceBatchFileSchema, RuntimeRecordSchema, WorkRecordSchema, loadState, statePaths } from './state-store.js';

export type { TokenRecord } from './enroll-token.js';
export type { PendingApproval } from './approval-store.js';
export type { AskOutcome, OperatorDesk, OperatorDeskOptions } from './operator-desk.js';
export type { NonceCache, RequestAuthContext, RequestAuthFailure, RequestAuthResult, SignedRequest } from './request-auth.js';
export type { AcceptedRecord, ConnectionsServer, ConnectionsServerOptions, RuntimeStatus, RuntimeSummary, WorkSummary } from './server.js';
export type { LoadedState, RuntimeRecord, StoredEvidence, WorkRecord, WorkState } from './state-store.js';
// The check itself lives in the verifier, so a third party runs the same code Cloud does.
export { verifyRuntimeReceipts } from '@lumenflow/verifier';
export type { RuntimeReceiptInputs, RuntimeReceiptProblem, RuntimeReceiptProblemCode, RuntimeReceiptReport } from '@lumenflow/verifier';
