import type { ApprovalRecord, Ask, NodeSession, PolicyDecisionRecord, TestResults, ToolCallRecord } from '@lumenflow/protocol';

/** Codes for a proof file that replay could not read or parse. */
export type ReplayReadProblemCode =
  | 'BUNDLE_NOT_FOUND'
  | 'BUNDLE_NOT_DIRECTORY'
  | 'BUNDLE_UNREADABLE'
  | 'FILE_MISSING'
  | 'FILE_NOT_REGULAR'
  | 'FILE_TOO_LARGE'
  | 'FILE_UNREADABLE'
  | 'FILE_NOT_UTF8'
  | 'JSON_INVALID'
  | 'SCHEMA_INVALID';

/** One file (or one line of a .jsonl file) that replay could not use. */
export interface ReplayReadProblem {
  file: string;
  code: ReplayReadProblemCode;
  /** 1-based line for .jsonl files and JSON syntax errors. */
  line?: number;
  /** Dotted path of the offending value, for schema errors. */
  path?: string;
  message: string;
}

/** The manifest fields replay shows; the verifier owns the manifest's full check. */
export interface ReplayManifestInfo {
  runId?: string;
  mode?: string;
  createdAt?: string;
  keyId?: string;
  /** Lowercase hex SHA-256 of each artifact, by path, as the manifest lists them. */
  artifactDigests?: Record<string, string>;
}

/** A bundle's proof files, parsed and schema-checked; whatever failed is in `problems`. */
export interface ReplayBundleFiles {
  dir: string;
  /** False when the directory itself, or every proof file in it, could not be read. */
  readable: boolean;
  ask: Ask | null;
  session: NodeSession | null;
  /** Valid lines of policy-decisions.jsonl, in file order; `null` when the file is missing. */
  decisions: PolicyDecisionRecord[] | null;
  /** Valid lines of tool-calls.jsonl, in file order; `null` when the file is missing. */
  toolCalls: ToolCallRecord[] | null;
  testResults: TestResults | null;
  approval: ApprovalRecord | null;
  /** Exact bytes of file-diff.patch: the approval's action hash binds these. */
  diff: Uint8Array | null;
  /** Exact bytes of pr-summary.md. */
  prSummary: Uint8Array | null;
  replayLink: string | null;
  manifest: ReplayManifestInfo | null;
  /** Lowercase hex SHA-256 of the exact bytes replay read, by file name. */
  digests: Record<string, string>;
  problems: ReplayReadProblem[];
}

/** The steps of the chain of authority, in the order the chain runs them. */
export type ChainStep = 'ask' | 'policy' | 'dispatch' | 'tool_call' | 'tests' | 'approval_request' | 'approval_resolution' | 'pr' | 'proof';

/** A bundle text file as replay shows and hashes it. */
export interface ChainText {
  text: string;
  /** `sha256:<hex>` of the file's exact bytes. */
  sha256: string;
}

/** A tool call together with the decision its record says allowed it. */
export interface ChainToolCall {
  call: ToolCallRecord;
  /** The decision named by `call.decisionId`, or null when no such decision is in the bundle. */
  decision: PolicyDecisionRecord | null;
  /** Every other decision that names this call by `toolCallId` (e.g. a deny of the same call). */
  otherDecisions: PolicyDecisionRecord[];
}

/** One link of the assembled chain: Ask → Dispatch → Rules → Tool calls → Approvals → PR → Proof. */
export type ChainLink =
  | { step: 'ask'; ask: Ask }
  | { step: 'policy'; decision: PolicyDecisionRecord }
  | { step: 'dispatch'; session: NodeSession }
  | { step: 'tool_call'; toolCall: ChainToolCall }
  | { step: 'tests'; testResults: TestResults }
  | { step: 'approval_request'; approval: ApprovalRecord; request: NonNullable<ApprovalRecord['request']> }
  | { step: 'approval_resolution'; approval: ApprovalRecord; resolution: NonNullable<ApprovalRecord['resolution']> }
  | { step: 'approval_not_requested'; approval: ApprovalRecord }
  /** The PR that was proposed; this cut records an approved one and opens none (see docs/replay.md). */
  | { step: 'pr'; approved: boolean; title: string }
  | { step: 'proof'; manifest: ReplayManifestInfo };

/** The whole chain of one run, rebuilt from its bundle. Pure data. */
export interface ReplayChain {
  dir: string;
  /** False when the directory, or every proof file in it, could not be read. */
  readable: boolean;
  /** The run id the manifest names, else the first record that names one. */
  runId: string | null;
  mode: string | null;
  ask: Ask | null;
  session: NodeSession | null;
  decisions: PolicyDecisionRecord[];
  toolCalls: ChainToolCall[];
  testResults: TestResults | null;
  approval: ApprovalRecord | null;
  diff: ChainText | null;
  prSummary: ChainText | null;
  replayLink: string | null;
  manifest: ReplayManifestInfo | null;
  /** Ordered links: Ask, Rules at Cloud, Dispatch, per tool call its gating decisions then the call, tests, approval, PR, Proof. */
  links: ChainLink[];
  /** Lowercase hex SHA-256 of the bytes replay read, by file name. */
  digests: Record<string, string>;
  /** Problems from reading the bundle, carried so that the checks can report them. */
  readProblems: ReplayReadProblem[];
  /** Whether the decision file and tool-call file were present at all. */
  hasDecisionFile: boolean;
  hasToolCallFile: boolean;
}

/** The stable codes of the chain checks; docs/replay.md describes each. */
export type ChainCheckCode =
  | 'RECORD_INVALID'
  | 'ID_MISMATCH'
  | 'ID_DUPLICATE'
  | 'TIMESTAMPS_UNORDERED'
  | 'TOOL_CALL_WITHOUT_ALLOW'
  | 'TOOL_CALL_AFTER_HALT'
  | 'APPROVAL_STATUS_INCONSISTENT'
  | 'APPROVAL_HASH_MISMATCH'
  | 'APPROVAL_ORDER'
  | 'APPROVAL_EXPIRED'
  | 'SELF_APPROVAL'
  | 'TEST_COUNTS_MISMATCH'
  | 'SANDBOX_MISMATCH'
  | 'EGRESS_INCONSISTENT'
  | 'WRITE_UNATTRIBUTED'
  | 'PULL_REQUEST_BINDING';

/** One reason a chain check failed. */
export interface ChainFinding {
  /** Where: a file, optionally with a record id or line (`tool-calls.jsonl#tc_0002`). */
  where: string;
  message: string;
  /** Record ids the finding is about, so that a timeline can mark them. */
  refs: string[];
}

/** The result of one chain check. `code` names the check; it is the failure code when `ok` is false. */
export interface ChainCheck {
  name: string;
  code: ChainCheckCode;
  ok: boolean;
  /** One-line summary of the first finding, when failed. */
  detail?: string;
  findings: ChainFinding[];
}

/** One line of the replay timeline. */
export interface TimelineEvent {
  /** RFC 3339 time of the event, or null when the bundle records none (tests, PR). */
  at: string | null;
  step: ChainStep;
  /** What happened, in one line. Bundle-derived: escape before display. */
  what: string;
  /** The decision or status: allow, deny, approval_required, succeeded, failed, approved, … */
  status: string;
  durationMs: number | null;
  /** The record id this event shows (decision, tool call, approval), if any. */
  ref: string | null;
  /** Codes of failed chain checks that name this event's record. Filled in by the replay report. */
  problemCodes: ChainCheckCode[];
}
