export { canonicalize, canonicalizeToBytes } from './canonical-json.js';
export { computeApprovalActionHash } from './approval-hash.js';
export { OPEN_PULL_REQUEST_TOOL, isPullRequestCall } from './pull-request-call.js';
export type { ApprovalAction } from './approval-hash.js';
export { locateStrictJsonPath, parseStrictJson, parseStrictJsonBytes } from './strict-json.js';
export { CodedError } from './coded-error.js';
export { ProtocolError } from './errors.js';
export { describeTestShortfall } from './test-results.js';
export { formatIssuePath } from './issue-path.js';
export { omitUndefined } from './omit-undefined.js';
export {
  EGRESS_ENTRY_PATTERN,
  EgressAllowListSchema,
  EgressEntrySchema,
  EgressRecordSchema,
  EgressReasonSchema,
  MAX_EGRESS_ALLOW_ENTRIES,
  MAX_EGRESS_DESTINATIONS,
  egressEntryProblem,
  egressListAllows,
  parseEgressEntry,
} from './egress.js';
export type { EgressAllowList, EgressEntry, EgressReason, EgressRecord } from './egress.js';
export { KNOWN_SECRET_KIND, MIN_SECRET_LENGTH, createRedactor, encodeSecretForms, isProtectedField, mergeRedactionSummaries } from './redact.js';
export { SECRET_PATTERNS } from './secret-patterns.js';
export { PROVIDER_TOKEN_ENV, SECRET_SOURCE_KINDS, secretFileValues, secretsFromEnvironment } from './secret-sources.js';
export { PRINCIPAL_ID_PATTERN, PrincipalIdSchema, comparePrincipals, principalKey } from './identity.js';
export { createSequentialIds, createSteppingClock, systemClock } from './determinism.js';
export {
  AgentInfoSchema,
  AgentNetworkSchema,
  ApprovalRecordSchema,
  AskSchema,
  EffectSchema,
  IdSchema,
  MessageSignatureSchema,
  NodeSessionSchema,
  PolicyDecisionRecordSchema,
  RedactionSummarySchema,
  RuntimeReceiptSchema,
  SandboxInfoSchema,
  ScopeKindSchema,
  ScopeRefSchema,
  ScopeSchema,
  Sha256DigestSchema,
  TestOutcomeSchema,
  TestResultsSchema,
  TestRunIncompleteSchema,
  TimestampSchema,
  ToolCallRecordSchema,
  PullRequestOutputSchema,
  ToolCallSandboxSchema,
  WorkspaceChangeSchema,
} from './schemas.js';
export {
  CloudToRuntimeMessageSchema,
  DiffMessageSchema,
  EnrollMessageSchema,
  EnrolledMessageSchema,
  PolicyDecisionMessageSchema,
  RuntimeHostSchema,
  RuntimeToCloudMessageSchema,
  SessionAcceptedMessageSchema,
  SessionEndedMessageSchema,
  SessionHaltMessageSchema,
  SessionOpenMessageSchema,
  SessionStartMessageSchema,
  TestResultsMessageSchema,
  ToolCallMessageSchema,
  createInProcessTransport,
  createMessageInbox,
  parseTransportMessage,
} from './transport.js';
export {
  CONNECTION_ERROR_CODES,
  ClaimRefSchema,
  ClaimRequestSchema,
  ClaimResponseSchema,
  ConnectionErrorBodySchema,
  ConnectionErrorCodeSchema,
  DEFAULT_CLOCK_SKEW_MS,
  DispatchBodySchema,
  DispatchRefusalCodeSchema,
  EnrollRequestSchema,
  EnrollResponseSchema,
  EvidenceAckSchema,
  EvidenceBatchSchema,
  EvidenceRecordSchema,
  HeartbeatResponseSchema,
  LeaseRenewRequestSchema,
  LeaseRenewResponseSchema,
  MAX_LONG_POLL_MS,
  MAX_ENROLL_BODY_BYTES,
  MAX_REQUEST_BODY_BYTES,
  NonceSchema,
  REQUEST_HEADERS,
  SIGNING_PURPOSES,
  WorkItemSchema,
  WorkResponseSchema,
  buildRefusalSigningPayload,
  buildRequestSigningPayload,
  computeSha256Digest,
} from './connections.js';

export type { JsonValue } from './canonical-json.js';
export type { ErrorLocation } from './coded-error.js';
export type { OmitUndefined } from './omit-undefined.js';
export type { ProtocolErrorCode } from './errors.js';
export type { KnownSecret, RedactionSummary, Redactor, RedactorOptions, TextRedaction } from './redact.js';
export type { SecretPattern } from './secret-patterns.js';
export type { Clock, IdSource } from './determinism.js';
export type {
  AgentInfo,
  AgentNetwork,
  ApprovalRecord,
  Ask,
  Effect,
  NodeSession,
  PolicyDecisionRecord,
  RuntimeReceipt,
  SandboxInfo,
  Scope,
  ScopeKind,
  ScopeRef,
  Sha256Digest,
  TestOutcome,
  TestResults,
  TestRunIncomplete,
  ToolCallRecord,
  PullRequestOutput,
  ToolCallSandbox,
  WorkspaceChange,
} from './schemas.js';
export type {
  CloudEndpoint,
  CloudToRuntimeMessage,
  DiffMessage,
  EnrollMessage,
  MessageInbox,
  MessageSignature,
  RuntimeEndpoint,
  RuntimeHost,
  RuntimeToCloudMessage,
  SessionEndedMessage,
  SessionOpenMessage,
  TransportEndpoint,
  UnsignedRuntimeMessage,
} from './transport.js';
export type {
  ClaimRef,
  ClaimRequest,
  ClaimResponse,
  ConnectionErrorBody,
  ConnectionErrorCode,
  DispatchBody,
  DispatchRefusalCode,
  DispatchRefusalRecord,
  EnrollRequest,
  EnrollResponse,
  EvidenceAck,
  EvidenceRecord,
  LeaseRenewRequest,
  RequestSigningFields,
  WorkItem,
} from './connections.js';
