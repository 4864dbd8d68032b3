export { canonicalize, canonicalizeToBytes } from './canonical-json.js';
export { parseStrictJson, parseStrictJsonBytes } from './strict-json.js';
export { ProtocolError } from './errors.js';
export { isWellFormedUtf16 } from './unicode.js';
export { createSequentialIds, createSteppingClock, systemClock } from './determinism.js';
export {
  ApprovalRecordSchema,
  AskSchema,
  EffectSchema,
  IdSchema,
  NodeSessionSchema,
  PolicyDecisionRecordSchema,
  ScopeKindSchema,
  ScopeRefSchema,
  ScopeSchema,
  Sha256DigestSchema,
  TestOutcomeSchema,
  TestResultsSchema,
  TimestampSchema,
  ToolCallRecordSchema,
} from './schemas.js';
export {
  CloudToRuntimeMessageSchema,
  DiffMessageSchema,
  EnrollMessageSchema,
  EnrolledMessageSchema,
  MessageSignatureSchema,
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
  parseTransportMessage,
} from './transport.js';

export type { JsonValue } from './canonical-json.js';
export type { ProtocolErrorCode } from './errors.js';
export type { Clock, IdSource } from './determinism.js';
export type {
  ApprovalRecord,
  Ask,
  Effect,
  NodeSession,
  PolicyDecisionRecord,
  Scope,
  ScopeKind,
  ScopeRef,
  Sha256Digest,
  TestOutcome,
  TestResults,
  ToolCallRecord,
} from './schemas.js';
export type {
  CloudEndpoint,
  CloudToRuntimeMessage,
  DiffMessage,
  EnrollMessage,
  MessageSignature,
  RuntimeEndpoint,
  RuntimeHost,
  RuntimeToCloudMessage,
  SessionEndedMessage,
  SessionOpenMessage,
  TransportEndpoint,
  UnsignedRuntimeMessage,
} from './transport.js';
