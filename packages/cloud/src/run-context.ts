import type { CloudToRuntimeMessage, RuntimeReceipt } from '@lumenflow/protocol';
import type { EnrolledRuntime } from './registry.js';
import type { CloudOptions, RunProgress, RunRequest } from './run-types.js';
import type { SessionInbox } from './session-inbox.js';

/** What each step of one run may use: the Cloud's parameters, the request, and its way to the runtime. */
export interface RunContext {
  cloud: Pick<CloudOptions, 'clock' | 'ids' | 'rules' | 'signingKey'>;
  request: RunRequest;
  /** Bounds the wait for acceptance, and then for the end of the session. */
  sessionTimeoutMs: number;
  progress(event: RunProgress): void;
  log(event: string, fields: Record<string, unknown>): void;
  send(message: CloudToRuntimeMessage): Promise<void>;
  /** The next id for a message Cloud sends. */
  messageId(): string;
  /** The Cloud clock's time, as a timestamp. */
  now(): string;
  /** Sessions Cloud listens to, by session id: a session not in it gets no evidence in. */
  sessions: Map<string, SessionInbox>;
  /** The receipts of each session's signed evidence messages, by session id. */
  receipts: Map<string, RuntimeReceipt[]>;
}

/** A session opened on a runtime for one run. */
export interface DispatchedSession {
  runtime: EnrolledRuntime;
  sessionId: string;
  inbox: SessionInbox;
}
