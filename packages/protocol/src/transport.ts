import { z } from 'zod';
import { ProtocolError } from './errors.js';
import {
  AgentInfoSchema,
  AskSchema,
  IdSchema,
  MessageSignatureSchema,
  PolicyDecisionRecordSchema,
  SandboxInfoSchema,
  Sha256DigestSchema,
  TestResultsSchema,
  TimestampSchema,
  ToolCallRecordSchema,
} from './schemas.js';
import { formatIssuePath } from './issue-path.js';

// Cloud and Runtime meet only through these messages. Every message is plain
// JSON, carries its own ids, and is validated on receipt, so that the
// in-process transport of today and a network transport later are the same
// contract: nothing but data crosses, and neither side trusts the other's bytes.

const base = { messageId: IdSchema };
const inRun = { ...base, runId: IdSchema, sessionId: IdSchema };
const signed = { signature: MessageSignatureSchema };

/** Host facts a runtime reports. The host name travels only as a hash. */
export const RuntimeHostSchema = z.strictObject({
  os: z.string().min(1),
  arch: z.string().min(1),
  nodeVersion: z.string().min(1),
  hostnameHash: Sha256DigestSchema,
});

/** A runtime's request to join: its public key (proof of possession is the signature), labels and host. */
export const EnrollMessageSchema = z.strictObject({
  type: z.literal('runtime.enroll'),
  ...base,
  runtimeId: IdSchema,
  publicKeyPem: z.string().min(1).max(4096),
  labels: z.array(z.string().min(1).max(100)),
  version: z.string().min(1),
  host: RuntimeHostSchema,
  ...signed,
});

/** The runtime claimed the session and its workspace is ready at the baseline commit. */
export const SessionAcceptedMessageSchema = z.strictObject({
  type: z.literal('session.accepted'),
  ...inRun,
  startedAt: TimestampSchema,
  baselineCommit: z.string().regex(/^[0-9a-f]{40}$/, 'expected a 40-hex git commit'),
  /** The boundary the session's tool processes will run in. */
  sandbox: SandboxInfoSchema,
  ...signed,
});

export const PolicyDecisionMessageSchema = z.strictObject({
  type: z.literal('evidence.policy-decision'),
  ...inRun,
  record: PolicyDecisionRecordSchema,
  ...signed,
});

export const ToolCallMessageSchema = z.strictObject({
  type: z.literal('evidence.tool-call'),
  ...inRun,
  record: ToolCallRecordSchema,
  ...signed,
});

export const TestResultsMessageSchema = z.strictObject({
  type: z.literal('evidence.test-results'),
  ...inRun,
  record: TestResultsSchema,
  ...signed,
});

/** `git diff` of the workspace against its baseline, exactly as the tool call produced it. */
export const DiffMessageSchema = z.strictObject({
  type: z.literal('evidence.diff'),
  ...inRun,
  baselineCommit: z.string().regex(/^[0-9a-f]{40}$/),
  patch: z.string(),
  ...signed,
});

/** The session is over: how it ended, and whether the workspace still equals its baseline. */
export const SessionEndedMessageSchema = z.strictObject({
  type: z.literal('session.ended'),
  ...inRun,
  outcome: z.enum(['completed', 'halted', 'failed']),
  reason: z.string().min(1),
  /** A code when outcome is `failed` or `halted`, e.g. POLICY_DENIED, TOOL_FAILED. */
  code: z.string().min(1).optional(),
  workspaceUnchanged: z.boolean(),
  endedAt: TimestampSchema,
  /** The agent that did the work (node-session.json carries it). */
  agent: AgentInfoSchema.optional(),
  /** The pull request text the agent proposed at `finish`: Cloud makes it the approved PR title and body. */
  proposal: z.strictObject({ title: z.string().min(1).max(200), body: z.string().max(64 * 1024) }).optional(),
  /** At a refusal before `session.accepted`: the boundary the session would have run in (node-session.json carries it). */
  sandbox: SandboxInfoSchema.optional(),
  ...signed,
});

export const RuntimeToCloudMessageSchema = z.discriminatedUnion('type', [
  EnrollMessageSchema,
  SessionAcceptedMessageSchema,
  PolicyDecisionMessageSchema,
  ToolCallMessageSchema,
  TestResultsMessageSchema,
  DiffMessageSchema,
  SessionEndedMessageSchema,
]);

export const EnrolledMessageSchema = z.strictObject({
  type: z.literal('runtime.enrolled'),
  ...base,
  inReplyTo: IdSchema,
  runtimeId: IdSchema,
  keyId: Sha256DigestSchema,
});

/**
 * Dispatch: the Ask, and the Cloud rule set the runtime must enforce on every
 * tool call (as JSON, for the policy package to re-validate on arrival).
 */
export const SessionOpenMessageSchema = z.strictObject({
  type: z.literal('session.open'),
  ...inRun,
  runtimeId: IdSchema,
  ask: AskSchema,
  cloudRules: z.strictObject({ fileName: z.string().min(1).max(1000), document: z.json() }),
});

/** Cloud's Rules allowed the Ask: do the work. */
export const SessionStartMessageSchema = z.strictObject({
  type: z.literal('session.start'),
  ...inRun,
});

/** Cloud's Rules denied the Ask: touch nothing and close the session. */
export const SessionHaltMessageSchema = z.strictObject({
  type: z.literal('session.halt'),
  ...inRun,
  reason: z.string().min(1),
});

export const CloudToRuntimeMessageSchema = z.discriminatedUnion('type', [
  EnrolledMessageSchema,
  SessionOpenMessageSchema,
  SessionStartMessageSchema,
  SessionHaltMessageSchema,
]);

export type MessageSignature = z.infer<typeof MessageSignatureSchema>;
export type RuntimeHost = z.infer<typeof RuntimeHostSchema>;
export type RuntimeToCloudMessage = z.infer<typeof RuntimeToCloudMessageSchema>;
export type CloudToRuntimeMessage = z.infer<typeof CloudToRuntimeMessageSchema>;
export type EnrollMessage = z.infer<typeof EnrollMessageSchema>;
export type SessionOpenMessage = z.infer<typeof SessionOpenMessageSchema>;
export type SessionEndedMessage = z.infer<typeof SessionEndedMessageSchema>;
export type DiffMessage = z.infer<typeof DiffMessageSchema>;

/** A runtime message before it is signed. */
export type UnsignedRuntimeMessage = RuntimeToCloudMessage extends infer M
  ? M extends { signature: unknown }
    ? Omit<M, 'signature'>
    : never
  : never;

/** One side of a transport. `Out` is what this side sends, `In` what it receives. */
export interface TransportEndpoint<Out, In> {
  /** Queues a message for the other side; resolves once it is accepted for delivery. @throws {ProtocolError} TRANSPORT_CLOSED, SCHEMA_INVALID. */
  send(message: Out): Promise<void>;
  /** Sets the one handler for validated incoming messages. Messages are handled one at a time, in order. */
  onMessage(handler: (message: In) => void | Promise<void>): void;
  /** Sets the handler for incoming messages that failed validation, and for handler failures. */
  onError(handler: (error: unknown) => void): void;
  close(): void;
}

export type CloudEndpoint = TransportEndpoint<CloudToRuntimeMessage, RuntimeToCloudMessage>;
export type RuntimeEndpoint = TransportEndpoint<RuntimeToCloudMessage, CloudToRuntimeMessage>;

/**
 * Parses one received message against a schema, as every transport must on receipt.
 *
 * @throws {ProtocolError} SCHEMA_INVALID with the dotted path of the first problem.
 */
export function parseTransportMessage<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = formatIssuePath(issue?.path ?? []);
  throw new ProtocolError('SCHEMA_INVALID', `transport message invalid at ${path}: ${issue?.message ?? 'invalid'}`, { path });
}

/**
 * Two connected endpoints in one process. Messages cross as JSON text (so
 * neither side can hold the other's objects), arrive asynchronously and in
 * order, and are validated with zod on receipt, exactly as over a network.
 */
export function createInProcessTransport(): { cloud: CloudEndpoint; runtime: RuntimeEndpoint } {
  const toRuntime = createChannel(CloudToRuntimeMessageSchema);
  const toCloud = createChannel(RuntimeToCloudMessageSchema);
  const closeBoth = (): void => {
    toRuntime.close();
    toCloud.close();
  };
  return {
    cloud: { send: toRuntime.send, onMessage: toCloud.onMessage, onError: toCloud.onError, close: closeBoth },
    runtime: { send: toCloud.send, onMessage: toRuntime.onMessage, onError: toRuntime.onError, close: closeBoth },
  };
}

interface Channel<T> {
  send(message: T): Promise<void>;
  onMessage(handler: (message: T) => void | Promise<void>): void;
  onError(handler: (error: unknown) => void): void;
  close(): void;
}

function createChannel<T>(schema: z.ZodType<T>): Channel<T> {
  // Text crosses, and is parsed and validated only on the receiving side.
  const inbox = createMessageInbox((text: string) => parseTransportMessage(schema, JSON.parse(text)), { yieldBeforeEach: true });
  let closed = false;
  return {
    send: async (message: T) => {
      if (closed) throw new ProtocolError('TRANSPORT_CLOSED', 'transport is closed');
      let text: string | undefined;
      try {
        text = JSON.stringify(message);
      } catch (cause) {
        throw new ProtocolError('SCHEMA_INVALID', 'transport message is not JSON-serialisable', { cause });
      }
      if (text === undefined) throw new ProtocolError('SCHEMA_INVALID', 'transport message is not JSON-serialisable');
      inbox.push(text);
    },
    onMessage: inbox.onMessage,
    onError: inbox.onError,
    close: () => {
      closed = true;
      inbox.close();
    },
  };
}

/** The receiving half of any transport: decodes raw input and hands it to one handler, in order. */
export interface MessageInbox<Raw, T> {
  /** Queues raw input; it is decoded when its turn comes. */
  push(raw: Raw): void;
  /** Sets the one handler; queued messages start flowing. */
  onMessage(handler: (message: T) => void | Promise<void>): void;
  /** Sets the handler for input that fails to decode, and for handler failures. */
  onError(handler: (error: unknown) => void): void;
  /** Drops what is queued; nothing more is delivered. */
  close(): void;
}

/**
 * Delivers one message at a time, in arrival order, awaiting the handler
 * before the next: a session's records must reach Cloud in the order the
 * runtime made them, whichever transport carries them. A decode failure or a
 * handler failure goes to the error handler and the next message still flows.
 *
 * @param options.yieldBeforeEach hop to a macrotask before each delivery, so a
 *   delivery never runs inside the sender's call stack (as over a network).
 */
export function createMessageInbox<Raw, T>(decode: (raw: Raw) => T, options: { yieldBeforeEach?: boolean } = {}): MessageInbox<Raw, T> {
  let handler: ((message: T) => void | Promise<void>) | undefined;
  let errorHandler: (error: unknown) => void = () => undefined;
  const pending: Raw[] = [];
  let closed = false;
  let draining = false;

  const drain = async (): Promise<void> => {
    if (draining) return;
    draining = true;
    try {
      while (handler !== undefined && pending.length > 0 && !closed) {
        const raw = pending.shift() as Raw;
        if (options.yieldBeforeEach === true) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          // Closed during the hop: a closed transport delivers nothing more.
          if (closed) break;
        }
        let message: T;
        try {
          message = decode(raw);
        } catch (error) {
          errorHandler(error);
          continue;
        }
        try {
          await handler(message);
        } catch (error) {
          errorHandler(error);
        }
      }
    } finally {
      draining = false;
    }
  };

  return {
    push: (raw) => {
      if (closed) return;
      pending.push(raw);
      void drain();
    },
    onMessage: (next) => {
      handler = next;
      void drain();
    },
    onError: (next) => {
      errorHandler = next;
    },
    close: () => {
      closed = true;
      pending.length = 0;
    },
  };
}
