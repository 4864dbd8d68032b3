export { DEFAULT_ENROLL_TOKEN_TTL_MS, hashEnrollToken, issueEnrollToken } from './enroll-token.js';
export { createHttpCloudEndpoint } from './http-cloud-endpoint.js';
export { authenticateRequest, createNonceCache } from './request-auth.js';
export { openConnectionsServer } from './server.js';
export {
  ApprovalAnswerSchema,
  PendingApprovalSchema,
  completePendingApproval,
  loadPendingApproval,
  loadPendingApprovals,
  markApprovalSettled,
  recordApprovalAnswer,
  savePendingApproval,
} from './approval-store.js';
export { openOperatorDesk } from './operator-desk.js';
export { createStoreOperatorApi } from './operator-api.js';
export { createEnrollToken, listPendingApprovals, openOperatorApi, readAskOutcome, readPendingApproval, submitApprovalAnswer, submitAsk } from './operator-client.js';

export type { PendingApproval } from './approval-store.js';
export type { OperatorDesk, OperatorDeskOptions } from './operator-desk.js';
export type { AskOutcome, OperatorApi } from './operator-api.js';
export type { OperatorAccess } from './operator-client.js';
export type { NonceCache, RequestAuthContext, RequestAuthFailure, RequestAuthResult, SignedRequest } from './request-auth.js';
export type { ConnectionsServer, ConnectionsServerOptions } from './server.js';
export type { AcceptedRecord, WorkSummary } from './server-context.js';
export type { RuntimeStatus, RuntimeSummary } from './runtime-registry.js';
// The check itself lives in the verifier, so a third party runs the same code Cloud does.
export { verifyRuntimeReceipts } from '@lumenflow/verifier';
export type { RuntimeReceiptInputs, RuntimeReceiptProblem, RuntimeReceiptProblemCode, RuntimeReceiptReport } from '@lumenflow/verifier';
