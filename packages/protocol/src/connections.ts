import { createHash } from 'node:crypto';
import { z } from 'zod';
import { canonicalizeToBytes } from './canonical-json.js';
import { IdSchema, MessageSignatureSchema, Sha256DigestSchema, TimestampSchema } from './schemas.js';
import { CloudToRuntimeMessageSchema, RuntimeHostSchema, RuntimeToCloudMessageSchema } from './transport.js';

// Connections: the HTTP contract between `cloud serve` and `runtime connect`.
// Every byte a runtime sends after enrollment is signed with its own key, and
// every dispatch Cloud sends is signed with Cloud's key. Each signed payload
// names its purpose, so that a signature made for one use can never be
// replayed as another (a request signature is not an evidence signature).

/** Header names of a signed runtime request. */
export const REQUEST_HEADERS = {
  runtime: 'x-lumenflow-runtime',
  timestamp: 'x-lumenflow-timestamp',
  nonce: 'x-lumenflow-nonce',
  signature: 'x-lumenflow-signature',
} as const;

/** How far a request's timestamp may be from Cloud's clock, either way. Nonces are kept this long. */
export const DEFAULT_CLOCK_SKEW_MS = 60_000;
/** Largest request body Cloud reads; a bigger one is refused before it is buffered. */
export const MAX_REQUEST_BODY_BYTES = 1024 * 1024;
/** Largest enrollment body: a token, a PEM key, labels and host facts fit in far less. */
export const MAX_ENROLL_BODY_BYTES = 16 * 1024;
/** Longest long-poll Cloud holds open. */
export const MAX_LONG_POLL_MS = 30_000;

export const SIGNING_PURPOSES = {
  request: 'lumenflow.connections.request.v1',
  dispatch: 'lumenflow.connections.dispatch.v1',
  refusal: 'lumenflow.connections.dispatch-refusal.v1',
} as const;

/** 128 bits or more of randomness, as hex or base64url. */
export const NonceSchema = z.string().regex(/^[A-Za-z0-9_-]{22,64}$/, 'expected 22-64 of [A-Za-z0-9_-]');

/** The fields a runtime request signature covers. */
export interface RequestSigningFields {
  runtimeId: string;
  method: string;
  /** Path and query exactly as sent on the request line. */
  path: string;
  /** `sha256:` of the raw body bytes (of zero bytes when there is no body). */
  bodySha256: string;
  timestamp: string;
  nonce: string;
}

/** The bytes a runtime signs for one request: RFC 8785 JSON of the fields and the request purpose. */
export function buildRequestSigningPayload(fields: RequestSigningFields): Uint8Array {
  return canonicalizeToBytes({ purpose: SIGNING_PURPOSES.request, ...fields });
}

/** `sha256:` plus lowercase hex of some bytes. */
export function computeSha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Every code a Connections endpoint answers with. Clients branch on these, never on messages. */
export const CONNECTION_ERROR_CODES = [
  'BAD_JSON',
  'BODY_TOO_LARGE',
  'LENGTH_REQUIRED',
  'BODY_TIMEOUT',
  'BUSY',
  'SCHEMA_INVALID',
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'TOKEN_INVALID',
  'TOKEN_USED',
  'TOKEN_EXPIRED',
  'KEY_INVALID',
  'KEY_ALREADY_ENROLLED',
  'UNSIGNED',
  'UNKNOWN_RUNTIME',
  'STALE_REQUEST',
  'REPLAYED_REQUEST',
  'BAD_SIGNATURE',
  'NONCE_CACHE_FULL',
  'WORK_UNKNOWN',
  'CLAIM_CONFLICT',
  'LEASE_LOST',
  'INTERNAL',
] as const;
export const ConnectionErrorCodeSchema = z.enum(CONNECTION_ERROR_CODES);

/** Body of every non-2xx answer. */
export const ConnectionErrorBodySchema = z.strictObject({
  error: z.strictObject({ code: ConnectionErrorCodeSchema, message: z.string() }),
});

/** `POST /v1/enroll`: the one unsigned request; a one-time token vouches for it. */
export const EnrollRequestSchema = z.strictObject({
  token: z.string().regex(/^lfe_[A-Za-z0-9_-]{43}$/, 'expected an enrollment token'),
  publicKeyPem: z.string().min(1).max(4096),
  labels: z.array(z.string().min(1).max(100)).max(64),
  version: z.string().min(1).max(100),
  host: RuntimeHostSchema,
});

export const EnrollResponseSchema = z.strictObject({
  runtimeId: IdSchema,
  keyId: Sha256DigestSchema,
  /** The key every dispatch is signed with; the runtime pins it from here on. */
  cloudPublicKeyPem: z.string().min(1),
  cloudKeyId: Sha256DigestSchema,
  heartbeatIntervalMs: z.number().int().positive(),
  leaseMs: z.number().int().positive(),
});

export const HeartbeatResponseSchema = z.strictObject({
  status: z.literal('online'),
  serverTime: TimestampSchema,
});

/** The claim a dispatch needs before it is acted on: one Ask, one attempt. */
export const ClaimRefSchema = z.strictObject({ askId: IdSchema, attempt: z.number().int().min(1) });

/**
 * What Cloud signs for one dispatch. The runtime acts only on the message
 * parsed from exactly these signed bytes.
 */
export const DispatchBodySchema = z.strictObject({
  purpose: z.literal(SIGNING_PURPOSES.dispatch),
  workId: IdSchema,
  seq: z.number().int().min(1),
  runtimeId: IdSchema,
  claim: ClaimRefSchema.nullable(),
  issuedAt: TimestampSchema,
  message: CloudToRuntimeMessageSchema,
});

/** One delivered dispatch: routing fields in clear, and the signed body as base64 of its RFC 8785 bytes. */
export const WorkItemSchema = z.strictObject({
  workId: IdSchema,
  seq: z.number().int().min(1),
  claim: ClaimRefSchema.nullable(),
  payload: z.string().max(2 * MAX_REQUEST_BODY_BYTES),
  signature: MessageSignatureSchema,
});

/** `GET /v1/work?after=<seq>&wait=<ms>`: dispatches with a sequence number above `after`, in order. */
export const WorkResponseSchema = z.strictObject({ items: z.array(WorkItemSchema) });

/** `POST /v1/claims`. */
export const ClaimRequestSchema = z.strictObject({ workId: IdSchema, askId: IdSchema, attempt: z.number().int().min(1) });
export const ClaimResponseSchema = z.strictObject({ leaseId: IdSchema, expiresAt: TimestampSchema });

/** `POST /v1/leases`: renews a held lease. */
export const LeaseRenewRequestSchema = z.strictObject({ askId: IdSchema, attempt: z.number().int().min(1), leaseId: IdSchema });
export const LeaseRenewResponseSchema = z.strictObject({ expiresAt: TimestampSchema });

/** Why a runtime refused a dispatch. */
export const DispatchRefusalCodeSchema = z.enum(['DISPATCH_SIGNATURE_INVALID', 'DISPATCH_MALFORMED', 'DISPATCH_MISMATCH', 'DISPATCH_MISADDRESSED']);

/**
 * An evidence receipt. A runtime message is signed by the runtime over itself
 * (see transport.ts); a refusal is signed over its own RFC 8785 form with the
 * refusal purpose. Either way, only the runtime's enrolled key can make one.
 */
export const EvidenceRecordSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('runtime-message'), recordId: IdSchema, message: RuntimeToCloudMessageSchema }),
  z.strictObject({
    kind: z.literal('dispatch-refusal'),
    recordId: IdSchema,
    runtimeId: IdSchema,
    workId: IdSchema,
    code: DispatchRefusalCodeSchema,
    /** sha256 of the payload bytes as received, so the refused dispatch can be matched later. */
    payloadSha256: Sha256DigestSchema,
    refusedAt: TimestampSchema,
    signature: MessageSignatureSchema,
  }),
]);

/** `POST /v1/evidence`. */
export const EvidenceBatchSchema = z.strictObject({ records: z.array(EvidenceRecordSchema).min(1).max(500) });
export const EvidenceAckSchema = z.strictObject({
  /** Stored now or earlier: the runtime may drop these from its outbox. */
  acked: z.array(IdSchema),
  /** Never accepted: wrong key, bad signature, or not this runtime's. */
  rejected: z.array(z.strictObject({ recordId: IdSchema, code: z.enum(['BAD_RECORD_SIGNATURE', 'WRONG_RUNTIME']) })),
});

/** The bytes a refusal signature covers: the record without `signature`, plus the refusal purpose. */
export function buildRefusalSigningPayload(record: Omit<DispatchRefusalRecord, 'signature'>): Uint8Array {
  return canonicalizeToBytes({ purpose: SIGNING_PURPOSES.refusal, ...record });
}

export type ConnectionErrorCode = z.infer<typeof ConnectionErrorCodeSchema>;
export type ConnectionErrorBody = z.infer<typeof ConnectionErrorBodySchema>;
export type EnrollRequest = z.infer<typeof EnrollRequestSchema>;
export type EnrollResponse = z.infer<typeof EnrollResponseSchema>;
export type ClaimRef = z.infer<typeof ClaimRefSchema>;
export type DispatchBody = z.infer<typeof DispatchBodySchema>;
export type WorkItem = z.infer<typeof WorkItemSchema>;
export type ClaimRequest = z.infer<typeof ClaimRequestSchema>;
export type ClaimResponse = z.infer<typeof ClaimResponseSchema>;
export type LeaseRenewRequest = z.infer<typeof LeaseRenewRequestSchema>;
export type DispatchRefusalCode = z.infer<typeof DispatchRefusalCodeSchema>;
export type EvidenceRecord = z.infer<typeof EvidenceRecordSchema>;
export type DispatchRefusalRecord = Extract<EvidenceRecord, { kind: 'dispatch-refusal' }>;
export type EvidenceAck = z.infer<typeof EvidenceAckSchema>;
