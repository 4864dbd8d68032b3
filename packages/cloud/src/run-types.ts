import type { ApprovalRecord, Ask, Clock, CloudEndpoint, IdSource, KnownSecret, PullRequestOutput } from '@lumenflow/protocol';
import type { RuleSet } from '@lumenflow/policy';
import type { BundleMode, SigningKey } from '@lumenflow/verifier';
import type { ApprovalRequest, Approver } from './approvals.js';
import type { PullRequestConfig } from './pull-request/perform.js';

/** The user-facing steps of a run, in order. */
export const RUN_STEPS = ['ask', 'dispatch', 'rules', 'tool-calls', 'approvals', 'proof'] as const;
export type RunStep = (typeof RUN_STEPS)[number];

/** A progress report for the operator's screen; never part of the evidence. */
export interface RunProgress {
  step: RunStep;
  /** `running` opens a step, `item` reports inside it, the rest close it. `waiting` pauses on a person. */
  state: 'running' | 'item' | 'waiting' | 'ok' | 'failed' | 'skipped';
  detail: string;
}

/** How a run ended, for the caller to judge against what it intended. */
export type RunEnding =
  | 'approved'
  | 'rejected'
  | 'expired'
  | 'no-approval-needed'
  | 'not-requested'
  | 'blocked'
  | 'runtime-halted'
  | 'tests-failed'
  | 'runtime-failed'
  /** Approved, but pushing or opening the pull request failed or was refused (`pullRequest.code` says why). */
  | 'pr-failed';

export interface RunResult {
  runId: string;
  dir: string;
  keyId: string;
  mode: BundleMode;
  ending: RunEnding;
  /** Why the run ended so, in one sentence. */
  summary: string;
  toolCalls: number;
  decisions: number;
  approvalStatus: ApprovalRecord['status'];
  /** What the pull-request step did, when it ran (an approved run with a provider configured). */
  pullRequest?: PullRequestOutput;
  /** The runtime's code when its session did not complete (AGENT_UNKNOWN, AGENT_NO_FINISH, POLICY_DENIED…). */
  code?: string;
}

export interface CloudOptions {
  endpoint: CloudEndpoint;
  clock: Clock;
  ids: IdSource;
  /** The key that signs bundles (the Proof signer), distinct from any runtime's key. */
  signingKey: SigningKey;
  /** The Cloud rules every requested scope is evaluated against, and that runtimes enforce. */
  rules: RuleSet;
  /**
   * Whether an enrolled runtime can take work now (Connections: not lost). An Ask
   * goes only to one that can, and waits (bounded) while none can. Default: all can.
   */
  isRuntimeAvailable?: (runtimeId: string) => boolean;
  log?: (event: string, fields: Record<string, unknown>) => void;
  /**
   * Values Cloud holds as secret, e.g. the PR provider's token (docs/secrets.md).
   * Redacted from every file Cloud writes into a bundle, its log and its
   * progress; a runtime message that still carries one is rejected. The value
   * of `GITHUB_TOKEN` in this process's environment is known without being passed.
   */
  knownSecrets?: readonly KnownSecret[];
}

export interface RunRequest {
  runId: string;
  ask: Ask;
  approver: Approver;
  /** Root the bundle directory `<outDir>/<runId>` is created in. */
  outDir: string;
  /** Full URL written to replay-link.txt. */
  replayUrl: string;
  approvalTtlMs?: number;
  /**
   * Longest wait for the runtime to accept the session, and then to end it
   * (default {@link DEFAULT_SESSION_TIMEOUT_MS}). A runtime that goes silent must
   * not hold the run forever: past it, the session counts as failed with
   * SESSION_TIMEOUT and the bundle is still written and signed.
   */
  sessionTimeoutMs?: number;
  signal?: AbortSignal;
  onProgress?: (event: RunProgress) => void;
  /**
   * Called once the run waits on a person, before the approver is asked: every
   * proof file but approval.json is final. A caller that stores this can finish
   * the bundle after a restart of this process (see `completePendingApproval`).
   */
  onApprovalPending?: (pending: PendingApprovalSnapshot) => Promise<void>;
  /**
   * How an approved pull request is carried out (docs/pull-requests.md). Absent:
   * no pull-request step; the approved run records the pull request that would be opened.
   */
  pullRequest?: PullRequestConfig;
}

/** A run paused at its approval gate: all it needs to become a signed bundle, but the answer. */
export interface PendingApprovalSnapshot {
  runId: string;
  askId: string;
  outDir: string;
  mode: BundleMode;
  request: ApprovalRequest;
  /** The proof files, without approval.json. */
  artifacts: Record<string, string>;
}

/** How long Cloud waits on a silent runtime by default: longer than any demo run, short of forever. */
export const DEFAULT_SESSION_TIMEOUT_MS = 10 * 60 * 1000;

export interface Cloud {
  /**
   * Resolves once at least one runtime carrying `labels` has enrolled.
   *
   * @throws {CloudError} RUNTIME_TIMEOUT when none has within `timeoutMs`; ABORTED on the signal.
   */
  waitForRuntime(labels: readonly string[], signal?: AbortSignal, timeoutMs?: number): Promise<void>;
  /**
   * Runs an Ask end to end: dispatch, Rules, the runtime's tool calls,
   * Approvals, and a signed bundle at `<outDir>/<runId>`.
   *
   * @throws {CloudError} NO_MATCHING_RUNTIME, SESSION_FAILED, SESSION_TIMEOUT (before the session was accepted), MESSAGE_REJECTED,
   *   APPROVAL_SELF_APPROVAL, APPROVAL_INVALID, ABORTED;
   *   {VerifierError} BUNDLE_EXISTS and other bundle-writing codes.
   */
  run(request: RunRequest): Promise<RunResult>;
}
