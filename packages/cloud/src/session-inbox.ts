import type {
  PolicyDecisionRecord,
  RuntimeReceipt,
  RuntimeToCloudMessage,
  SandboxInfo,
  SessionEndedMessage,
  TestResults,
  ToolCallRecord,
} from '@lumenflow/protocol';
import type { CloudError } from './errors.js';
import type { EnrolledRuntime } from './registry.js';

/** What the runtime said when it took the session on. */
export interface SessionAccepted {
  startedAt: string;
  baselineCommit: string;
  sandbox: SandboxInfo;
}

/** Everything one session's runtime has sent so far, as the run collects it. */
export interface SessionInbox {
  runtime: EnrolledRuntime;
  runId: string;
  askId: string;
  decisions: PolicyDecisionRecord[];
  toolCalls: ToolCallRecord[];
  testResults: TestResults | undefined;
  patch: string | undefined;
  /** Settles with the acceptance, or with the end of a session the runtime could not open. */
  accepted: Deferred<SessionAccepted | SessionEndedMessage>;
  ended: Deferred<SessionEndedMessage>;
  rejection: CloudError | undefined;
  onItem: ((detail: string) => void) | undefined;
}

/** An empty inbox for a session just dispatched to `runtime`. */
export function createSessionInbox(runtime: EnrolledRuntime, runId: string, askId: string): SessionInbox {
  return {
    runtime,
    runId,
    askId,
    decisions: [],
    toolCalls: [],
    testResults: undefined,
    patch: undefined,
    accepted: createDeferred(),
    ended: createDeferred(),
    rejection: undefined,
    onItem: undefined,
  };
}

/** Fails the session: whoever waits on it sees `error`, and only the first error counts. */
export function failSessionInbox(inbox: SessionInbox, error: CloudError): void {
  inbox.rejection ??= error;
  inbox.accepted.reject(error);
  inbox.ended.reject(error);
}

/** Whether a record names this inbox's run and Ask. */
export function isRecordOfInbox(record: { runId: string; askId: string }, inbox: SessionInbox): boolean {
  return record.runId === inbox.runId && record.askId === inbox.askId;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function createDeferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Observed later by whoever awaits it; this keeps an early rejection from counting as unhandled.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** A diff the bundle does not carry (Cloud halted the run) must not leave a receipt that matches nothing. */
export function keepReceipts(list: readonly RuntimeReceipt[], patch: string, received: string | undefined): RuntimeReceipt[] {
  return list.filter((r) => r.type !== 'evidence.diff' || patch === received);
}

/** Records what a verifier needs, with the bundle's files, to rebuild each signed evidence message. */
export function appendReceipt(receipts: Map<string, RuntimeReceipt[]>, message: RuntimeToCloudMessage): void {
  if (message.type === 'runtime.enroll' || message.type === 'session.ended') return;
  // The inbox keeps only the last test results and diff, so only their last receipt matches the bundle;
  // the acceptance, which names the base commit the workspace was checked out at, comes once.
  const single = message.type === 'evidence.test-results' || message.type === 'evidence.diff' || message.type === 'session.accepted';
  const list = (receipts.get(message.sessionId) ?? []).filter((r) => !single || r.type !== message.type);
  const base = { type: message.type, messageId: message.messageId, signature: message.signature };
  if (message.type === 'evidence.policy-decision') list.push({ ...base, recordId: message.record.decisionId });
  else if (message.type === 'evidence.tool-call') list.push({ ...base, recordId: message.record.toolCallId });
  else if (message.type === 'evidence.diff' || message.type === 'session.accepted') list.push({ ...base, baselineCommit: message.baselineCommit });
  else list.push(base);
  receipts.set(message.sessionId, list);
}
