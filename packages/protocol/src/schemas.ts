import { z } from 'zod';
import { EgressAllowListSchema, EgressRecordSchema } from './egress.js';

// The zod schemas in this file are the single source of truth for the proof
// files that Cloud and Runtime exchange and that the bundle carries. Every
// object is strict: an unknown field is an error, not something to ignore,
// because a reader that ignores fields can be shown a different story.

/** `sha256:` plus 64 lowercase hex digits. */
export const Sha256DigestSchema = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256:<64 lowercase hex>');

/**
 * An identifier that is also safe as a single path segment (run ids become
 * directory names): starts with a letter or digit, then letters, digits, `.`, `_`, `-`.
 */
export const IdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'expected 1-128 of [A-Za-z0-9._-], starting with a letter or digit');

/** An RFC 3339 UTC timestamp with a `Z` offset, e.g. 2026-11-23T10:00:00.000Z. */
export const TimestampSchema = z.iso.datetime({ offset: false });

export const EffectSchema = z.enum(['allow', 'deny', 'approval_required']);

export const ScopeKindSchema = z.enum([
  'fs.read',
  'fs.write',
  'shell.exec',
  'secret.read',
  'secret.write',
  'net.connect',
  'pr.create',
]);

/** A typed request for one kind of action. */
export const ScopeSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.enum(['fs.read', 'fs.write']), path: z.string() }),
  z.strictObject({ kind: z.literal('shell.exec'), program: z.string().min(1), args: z.array(z.string()) }),
  z.strictObject({
    kind: z.enum(['secret.read', 'secret.write']),
    environment: z.string().min(1),
    name: z.string().min(1),
  }),
  z.strictObject({ kind: z.literal('net.connect'), host: z.string().min(1), port: z.number().int().min(1).max(65535) }),
  z.strictObject({ kind: z.literal('pr.create'), repository: z.string().min(1), base: z.string().min(1) }),
]);

/** How a record names a scope: its kind and a one-string target (`src/calc.ts`, `production/DATABASE_URL`). */
export const ScopeRefSchema = z.strictObject({ kind: ScopeKindSchema, target: z.string() });

/** ask.json: what the operator asked for. */
export const AskSchema = z.strictObject({
  schemaVersion: z.literal(1),
  askId: IdSchema,
  operator: z.strictObject({ id: IdSchema, displayName: z.string().min(1).max(200) }),
  intent: z.string().min(1).max(4000),
  workspace: z.strictObject({
    repository: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'expected owner/name'),
    baseBranch: z.string().min(1).max(200),
  }),
  // Bounded: each scope becomes a Cloud decision record, so an unbounded list is unbounded work and evidence.
  requestedScopes: z.array(ScopeSchema).min(1).max(256),
  runtimeLabels: z.array(z.string().min(1).max(100)),
  createdAt: TimestampSchema,
  /** The command `run_tests` runs, as argv (no shell); absent: `node --test --test-reporter=tap`. Rules and the grant judge it as shell.exec. */
  testCommand: z.array(z.string().min(1).max(4096)).min(1).max(64).optional(),
  /** The agent, by the name the runtime knows it by; absent: the scripted agent. A runtime that does not know the name refuses the Ask. */
  agent: IdSchema.optional(),
  /** How the pull request is opened once approved: as a draft, and whom to ask for review (GitHub logins). */
  pullRequest: z
    .strictObject({
      draft: z.boolean().optional(),
      reviewers: z.array(z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/, 'expected a GitHub login')).max(15).optional(),
    })
    .optional(),
});

/**
 * The OS boundary a runtime ran its tool processes in. `bubblewrap`: the
 * sandbox described by `profileDigest` (sha256 of the RFC 8785 form of the
 * profile, docs/sandbox.md); `none`: the runtime's local configuration opted
 * out, which Replay shows as a warning.
 */
export const SandboxInfoSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('bubblewrap'), version: z.string().min(1).max(100), profileDigest: Sha256DigestSchema }),
  z.strictObject({ kind: z.literal('none'), reason: z.string().min(1).max(500) }),
]);

/** Which boundary one tool call's process ran in: the session's, named by kind and profile digest. */
export const ToolCallSandboxSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('bubblewrap'), profileDigest: Sha256DigestSchema }),
  z.strictObject({ kind: z.literal('none') }),
]);

/**
 * What the one redactor removed from a record (docs/secrets.md): how many
 * redactions, of which kinds, in which fields (dotted paths such as
 * `tests[2].name`); never the values. Present only on a record that was
 * redacted, so a record with nothing to redact keeps the bytes it always had.
 */
export const RedactionSummarySchema = z.strictObject({
  count: z.number().int().min(1),
  kinds: z.array(z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/)).min(1),
  fields: z.array(z.string().max(1024)).min(1),
});

/** How a workspace path changed while a tool call's process ran. */
export const WorkspaceChangeSchema = z.enum(['added', 'modified', 'deleted']);

/** One line of policy-decisions.jsonl. */
export const PolicyDecisionRecordSchema = z.strictObject({
  schemaVersion: z.literal(1),
  decisionId: IdSchema,
  timestamp: TimestampSchema,
  runId: IdSchema,
  askId: IdSchema,
  evaluatedAt: z.enum(['cloud', 'runtime']),
  scope: ScopeRefSchema,
  effect: EffectSchema,
  /** Every rule whose match held, in evaluation order. */
  matchedRuleIds: z.array(z.string()),
  /** The rule that decided, or a reserved id such as `policy.default.deny`. */
  decidingRuleId: z.string().min(1),
  reason: z.string().min(1),
  policyDigest: Sha256DigestSchema,
  /** Present when the decision gates a tool call. */
  toolCallId: IdSchema.optional(),
  /** e.g. a local rule that tried to loosen a Cloud decision. */
  warnings: z.array(z.string()),
  /**
   * Present on an fs.write decision the runtime made after a process ran: the
   * change it judged, the tool call whose process made it, and whether it was
   * reverted (every change that is not allowed is). Such a decision does not
   * gate a call, so it has no `toolCallId`.
   */
  attribution: z
    .strictObject({ toolCallId: IdSchema, change: WorkspaceChangeSchema, reverted: z.boolean() })
    .optional(),
  /** What was redacted from this record before it was signed; absent when nothing was. */
  redaction: RedactionSummarySchema.optional(),
});

/** What Cloud's pull-request step did: the output of an `open_pull_request` tool call. */
export const PullRequestOutputSchema = z.strictObject({
  provider: z.enum(['patch', 'git-remote', 'github']),
  /** The remote URL or path (never with credentials), or `owner/name` on GitHub. */
  remote: z.string().min(1).max(2000),
  branch: z.string().min(1).max(255),
  baseCommit: z.string().regex(/^[0-9a-f]{40}$/),
  /** The pushed commit; absent when nothing was committed (a refusal). */
  headCommit: z.string().regex(/^[0-9a-f]{40}$/).optional(),
  /** sha256 of `git diff --binary <baseCommit> <headCommit>`: equal to file-diff.patch's. */
  headDiffSha256: Sha256DigestSchema.optional(),
  /** The approval's actionHash this call executed (or was refused under). */
  actionHash: Sha256DigestSchema,
  number: z.number().int().positive().optional(),
  url: z.string().min(1).max(2000).optional(),
  /** True when a pull request for the head already existed and was reported instead of opening another. */
  existing: z.boolean().optional(),
  /** Why the call failed or was refused (a PR_* code), absent on success. */
  code: z.string().regex(/^PR_[A-Z_]+$/).optional(),
  message: z.string().max(2000).optional(),
});

/** One line of tool-calls.jsonl: a call the runtime actually executed. */
export const ToolCallRecordSchema = z.strictObject({
  schemaVersion: z.literal(1),
  toolCallId: IdSchema,
  runId: IdSchema,
  askId: IdSchema,
  sessionId: IdSchema,
  tool: z.string().min(1),
  scope: ScopeRefSchema,
  inputSummary: z.string(),
  inputHash: Sha256DigestSchema,
  /** The allow decision that let this call run. */
  decisionId: IdSchema,
  startedAt: TimestampSchema,
  endedAt: TimestampSchema,
  status: z.enum(['succeeded', 'failed']),
  outputHash: Sha256DigestSchema,
  exitCode: z.number().int().optional(),
  /** The boundary the call's process ran in; present exactly when the call ran a process (a shell.exec scope). */
  sandbox: ToolCallSandboxSchema.optional(),
  /** The bound that stopped the process, when one did. */
  limit: z.enum(['wall-time', 'cpu-time', 'output', 'file-size', 'memory']).optional(),
  /**
   * Present on the one call Cloud makes itself, `open_pull_request` (docs/pull-requests.md):
   * what it pushed and opened, and the approval's actionHash it executed. Its output hash is over this object.
   */
  pullRequest: PullRequestOutputSchema.optional(),
  /** What was redacted from this record before it was signed; absent when nothing was. */
  redaction: RedactionSummarySchema.optional(),
});

/** Ed25519 signature of a runtime message: over the RFC 8785 form of the message without `signature`. */
export const MessageSignatureSchema = z.strictObject({
  keyId: Sha256DigestSchema,
  /** Base64 of the 64-byte raw signature. */
  value: z.string().regex(/^[A-Za-z0-9+/]{86}==$/, 'expected base64 of 64 bytes'),
});

/**
 * A runtime's signature over one evidence message, kept so a verifier can
 * rebuild the message from the bundle's files and check it against the
 * runtime's key: `{ type, messageId, runId, sessionId, record }` (for a diff,
 * `{ type, messageId, runId, sessionId, baselineCommit, patch }`; for the
 * session's acceptance, `{ type, messageId, runId, sessionId, startedAt,
 * baselineCommit, sandbox }` with node-session.json's `startedAt` and
 * `runtime.sandbox`) in RFC 8785 form, signed with Ed25519.
 */
export const RuntimeReceiptSchema = z.strictObject({
  type: z.enum(['session.accepted', 'evidence.policy-decision', 'evidence.tool-call', 'evidence.test-results', 'evidence.diff']),
  messageId: IdSchema,
  /** The decisionId or toolCallId the message carried; absent for test results, the diff and the acceptance. */
  recordId: IdSchema.optional(),
  /** For `evidence.diff` and `session.accepted`: the commit the runtime checked out as the session's workspace. */
  baselineCommit: z.string().regex(/^[0-9a-f]{40}$/).optional(),
  signature: MessageSignatureSchema,
});

/**
 * An agent process's network in the sandbox (docs/sandbox.md). `none`: a
 * network namespace of its own with only loopback; `host`: the host's network
 * namespace; `{ allow: [<host>:<port>, ...] }`: only those destinations,
 * through the runtime's CONNECT proxy. For that agent process only, never for
 * a tool process.
 */
export const AgentNetworkSchema = z.union([z.enum(['none', 'host']), EgressAllowListSchema], {
  error: 'expected none, host or { allow: [<host>:<port>, ...] }',
});

/**
 * The agent that did a session's work: the runtime's name for it, a digest of
 * its command line (sha256 of the RFC 8785 form of its argv; absent for the
 * built-in scripted agent, which has none), the network its process had
 * (absent for the scripted agent, which is no process), and the client name
 * and version it sent at MCP initialize (absent when it never connected),
 * and how many calls it made after its work had ended.
 */
export const AgentInfoSchema = z.strictObject({
  name: IdSchema,
  commandDigest: Sha256DigestSchema.optional(),
  network: AgentNetworkSchema.optional(),
  /** With an allow-list: what the egress proxy let through and refused (absent otherwise). */
  egress: EgressRecordSchema.optional(),
  /** Printable only: control and format characters are stored as U+FFFD (docs/agents.md). */
  client: z.strictObject({ name: z.string().min(1).max(200), version: z.string().min(1).max(100) }).optional(),
  /** Calls the agent made after its work had ended (after finish, a refusal, the call bound), each refused; absent when none. */
  callsAfterEnd: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
});

/** node-session.json: where the work ran. Nothing secret; the host name only as a hash. */
export const NodeSessionSchema = z.strictObject({
  schemaVersion: z.literal(1),
  sessionId: IdSchema,
  runId: IdSchema,
  askId: IdSchema,
  runtime: z.strictObject({
    runtimeId: IdSchema,
    keyId: Sha256DigestSchema,
    version: z.string().min(1),
    os: z.string().min(1),
    arch: z.string().min(1),
    nodeVersion: z.string().min(1),
    hostnameHash: Sha256DigestSchema,
    /** The boundary every tool process of this session ran in. */
    sandbox: SandboxInfoSchema,
  }),
  labels: z.array(z.string()),
  startedAt: TimestampSchema,
  endedAt: TimestampSchema,
  /** The agent that did the work, as the runtime reported it; absent when the session never started one. */
  agent: AgentInfoSchema.optional(),
  /**
   * The runtime's enrolled public key and its signature on every evidence
   * message the bundle holds, so the records can be shown to come from the
   * enrolled machine, not from Cloud alone. Required: without it, nothing
   * separates the runtime's records from ones Cloud wrote itself.
   */
  runtimeEvidence: z.strictObject({ publicKeyPem: z.string().min(1).max(4096), receipts: z.array(RuntimeReceiptSchema) }),
});

export const TestOutcomeSchema = z.strictObject({
  name: z.string().min(1),
  status: z.enum(['passed', 'failed', 'skipped']),
});

/**
 * How a TAP stream fell short of its plan: it bailed out, reported fewer or
 * more results than its plan `1..N`, or never printed a plan. Present in
 * test-results.json only then, so a run that ended as planned keeps the bytes
 * it always had.
 */
export const TestRunIncompleteSchema = z.strictObject({
  /** N of the printed plan `1..N`; null when no plan was printed (before a bail-out, if any). */
  planned: z.number().int().nonnegative().nullable(),
  /** How many top-level results the stream reported. */
  reported: z.number().int().nonnegative(),
  /** The text after `Bail out!`; null when the run did not bail out. */
  bailOut: z.string().nullable(),
});

/** test-results.json: from a real test run, or why none happened. */
export const TestResultsSchema = z.discriminatedUnion('status', [
  z.strictObject({
    schemaVersion: z.literal(1),
    runId: IdSchema,
    status: z.literal('completed'),
    command: z.array(z.string()).min(1),
    exitCode: z.number().int(),
    durationMs: z.number().int().nonnegative(),
    counts: z.strictObject({
      total: z.number().int().nonnegative(),
      passed: z.number().int().nonnegative(),
      failed: z.number().int().nonnegative(),
      skipped: z.number().int().nonnegative(),
    }),
    tests: z.array(TestOutcomeSchema),
    /** The run did not end as planned; each missing test is in `tests` as failed. */
    incomplete: TestRunIncompleteSchema.optional(),
    /** What was redacted from this record before it was signed (test names, the command); absent when nothing was. */
    redaction: RedactionSummarySchema.optional(),
  }),
  z.strictObject({
    schemaVersion: z.literal(1),
    runId: IdSchema,
    status: z.literal('not_run'),
    reason: z.string().min(1),
    /** What was redacted from the reason; absent when nothing was. */
    redaction: RedactionSummarySchema.optional(),
  }),
]);

/** approval.json: the human gate on a risky action, bound to exactly what was approved. */
export const ApprovalRecordSchema = z.strictObject({
  schemaVersion: z.literal(1),
  runId: IdSchema,
  askId: IdSchema,
  status: z.enum(['approved', 'rejected', 'expired', 'not_requested']),
  request: z
    .strictObject({
      approvalId: IdSchema,
      action: z.strictObject({
        kind: z.literal('pr.create'),
        repository: z.string().min(1),
        base: z.string().min(1),
        head: z.string().min(1),
        /** The commit the change sits on (the runtime's baseline), bound so the diff cannot be replayed onto another base. */
        baseCommit: z.string().regex(/^[0-9a-f]{40}$/).optional(),
      }),
      /** sha256 of file-diff.patch's bytes. */
      diffSha256: Sha256DigestSchema,
      /** sha256 of pr-summary.md's bytes. */
      prTextSha256: Sha256DigestSchema,
      /** sha256 of the RFC 8785 form of `{ action, diffSha256, prTextSha256 }`. */
      actionHash: Sha256DigestSchema,
      /** The approval_required decision that opened this request. */
      decisionId: IdSchema,
      requestedBy: z.string().min(1),
      requestedAt: TimestampSchema,
      expiresAt: TimestampSchema,
    })
    .nullable(),
  resolution: z
    .strictObject({
      approver: z.string().min(1),
      decision: z.enum(['approved', 'rejected']),
      reason: z.string().min(1),
      decidedAt: TimestampSchema,
    })
    .nullable(),
  /** Why no approval was asked for (a policy halt, failing tests). */
  notRequestedReason: z.string().min(1).optional(),
});

export type Sha256Digest = z.infer<typeof Sha256DigestSchema>;
export type Effect = z.infer<typeof EffectSchema>;
export type ScopeKind = z.infer<typeof ScopeKindSchema>;
export type Scope = z.infer<typeof ScopeSchema>;
export type ScopeRef = z.infer<typeof ScopeRefSchema>;
export type Ask = z.infer<typeof AskSchema>;
export type PolicyDecisionRecord = z.infer<typeof PolicyDecisionRecordSchema>;
export type ToolCallRecord = z.infer<typeof ToolCallRecordSchema>;
export type PullRequestOutput = z.infer<typeof PullRequestOutputSchema>;
export type NodeSession = z.infer<typeof NodeSessionSchema>;
export type AgentInfo = z.infer<typeof AgentInfoSchema>;
export type AgentNetwork = z.infer<typeof AgentNetworkSchema>;
export type SandboxInfo = z.infer<typeof SandboxInfoSchema>;
export type ToolCallSandbox = z.infer<typeof ToolCallSandboxSchema>;
export type WorkspaceChange = z.infer<typeof WorkspaceChangeSchema>;
export type RuntimeReceipt = z.infer<typeof RuntimeReceiptSchema>;
export type TestOutcome = z.infer<typeof TestOutcomeSchema>;
export type TestRunIncomplete = z.infer<typeof TestRunIncompleteSchema>;
export type TestResults = z.infer<typeof TestResultsSchema>;
export type ApprovalRecord = z.infer<typeof ApprovalRecordSchema>;
