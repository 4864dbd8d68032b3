// Proof files of a small, realistic run, valid under the protocol schemas. They
// feed the test vectors and the round-trip tests; content is fixed so that the
// generated corpus is byte-identical on every machine.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalize, canonicalizeToBytes } from '@lumenflow/protocol';
import type { RuntimeReceipt } from '@lumenflow/protocol';
import { parseSigningKeyPem } from '@lumenflow/verifier';
import type { SigningKey } from '@lumenflow/verifier';

const RUN_ID = 'run-0001';
const ASK_ID = 'ask-0001';
const AT = '2026-11-23T10:00:00.000Z';
const POLICY_DIGEST = `sha256:${'1'.repeat(64)}`;

const digest = (text: string): string => `sha256:${createHash('sha256').update(text).digest('hex')}`;
const line = (value: unknown): string => `${canonicalize(value)}\n`;

/** The TEST-ONLY runtime key the sample records' receipts are signed with. */
export const SAMPLE_RUNTIME_KEY: SigningKey = parseSigningKeyPem(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'TEST-ONLY-runtime-key.pem'), 'utf8'));
export const SAMPLE_BASELINE = 'b'.repeat(40);
const SESSION_ID = 'session-0001';

/**
 * The proof files with node-session.json's runtime evidence rebuilt over the
 * other files: one receipt, signed by {@link SAMPLE_RUNTIME_KEY}, for each record
 * the runtime made, as an enrolled runtime's messages would carry.
 */
export function withRuntimeReceipts(files: ProofFiles, key: SigningKey = SAMPLE_RUNTIME_KEY, opts: { acceptedAt?: string } = {}): ProofFiles {
  const receipts: RuntimeReceipt[] = [];
  const sign = (type: RuntimeReceipt['type'], extra: Record<string, unknown>, meta: { recordId?: string; baselineCommit?: string }): void => {
    const messageId = `rmsg-${String(receipts.length + 1).padStart(4, '0')}`;
    const value = Buffer.from(key.sign(canonicalizeToBytes({ type, messageId, runId: RUN_ID, sessionId: SESSION_ID, ...extra }))).toString('base64');
    receipts.push({ type, messageId, ...meta, signature: { keyId: key.keyId, value } });
  };
  const records = (text: string): Array<Record<string, unknown>> => text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  for (const record of records(files['policy-decisions.jsonl'])) {
    if (record['evaluatedAt'] === 'runtime') sign('evidence.policy-decision', { record }, { recordId: String(record['decisionId']) });
  }
  for (const record of records(files['tool-calls.jsonl'])) sign('evidence.tool-call', { record }, { recordId: String(record['toolCallId']) });
  const tests = JSON.parse(files['test-results.json']) as Record<string, unknown>;
  if (tests['status'] === 'completed') sign('evidence.test-results', { record: tests }, {});
  if (files['file-diff.patch'] !== '') sign('evidence.diff', { baselineCommit: SAMPLE_BASELINE, patch: files['file-diff.patch'] }, { baselineCommit: SAMPLE_BASELINE });
  const session = JSON.parse(files['node-session.json']) as { startedAt: string; runtime: Record<string, unknown> };
  // The session's acceptance at a base commit: its message is rebuilt from node-session.json's startedAt and sandbox.
  if (opts.acceptedAt !== undefined) {
    sign('session.accepted', { startedAt: session.startedAt, baselineCommit: opts.acceptedAt, sandbox: session.runtime['sandbox'] }, { baselineCommit: opts.acceptedAt });
  }
  const runtime = { ...session.runtime, keyId: key.keyId };
  return { ...files, 'node-session.json': canonicalize({ ...session, runtime, runtimeEvidence: { publicKeyPem: key.publicKeyPem, receipts } }) };
}

/** One policy decision line (PolicyDecisionRecordSchema). */
export function sampleDecision(overrides: { decisionId: string; effect: 'allow' | 'deny' | 'approval_required'; evaluatedAt: 'cloud' | 'runtime' }): string {
  return line({
    schemaVersion: 1,
    decisionId: overrides.decisionId,
    timestamp: AT,
    runId: RUN_ID,
    askId: ASK_ID,
    evaluatedAt: overrides.evaluatedAt,
    scope: { kind: 'fs.write', target: 'src/calc.ts' },
    effect: overrides.effect,
    matchedRuleIds: [overrides.effect === 'deny' ? 'rules.deny-secrets' : 'rules.allow-src'],
    decidingRuleId: overrides.effect === 'deny' ? 'rules.deny-secrets' : 'rules.allow-src',
    reason: overrides.effect === 'deny' ? 'production secrets are never readable' : 'writes under src/ are allowed',
    policyDigest: POLICY_DIGEST,
    warnings: [],
  });
}

/** One tool call line (ToolCallRecordSchema). */
export function sampleToolCall(toolCallId: string): string {
  return line({
    schemaVersion: 1,
    toolCallId,
    runId: RUN_ID,
    askId: ASK_ID,
    sessionId: 'session-0001',
    tool: 'fs.write',
    scope: { kind: 'fs.write', target: 'src/calc.ts' },
    inputSummary: 'write src/calc.ts (fix add)',
    inputHash: digest('input'),
    decisionId: 'dec-0001',
    startedAt: AT,
    endedAt: AT,
    status: 'succeeded',
    outputHash: digest('output'),
  });
}

const diff = `--- a/src/calc.ts\n+++ b/src/calc.ts\n@@ -1,3 +1,3 @@\n export function add(a: number, b: number): number {\n-  return a - b;\n+  return a + b;\n }\n`;
const summary = '# Fix add\n\nThe add function subtracted. It adds now, and the calc tests pass.\n';

export type ProofFiles = Record<
  | 'ask.json'
  | 'node-session.json'
  | 'policy-decisions.jsonl'
  | 'tool-calls.jsonl'
  | 'file-diff.patch'
  | 'test-results.json'
  | 'approval.json'
  | 'pr-summary.md'
  | 'replay-link.txt',
  string
>;

/** The nine proof files of a happy run. */
export function sampleHappyArtifacts(): ProofFiles {
  return withRuntimeReceipts({
    'ask.json': canonicalize({
      schemaVersion: 1,
      askId: ASK_ID,
      operator: { id: 'operator-1', displayName: 'Test Operator' },
      intent: 'Fix the failing add test in the calc package',
      workspace: { repository: 'example/calc', baseBranch: 'main' },
      requestedScopes: [{ kind: 'fs.write', path: 'src/calc.ts' }],
      runtimeLabels: ['linux'],
      createdAt: AT,
    }),
    'node-session.json': canonicalize({
      schemaVersion: 1,
      sessionId: 'session-0001',
      runId: RUN_ID,
      askId: ASK_ID,
      runtime: {
        runtimeId: 'runtime-1',
        keyId: `sha256:${'2'.repeat(64)}`,
        version: '0.1.0',
        os: 'linux',
        arch: 'x64',
        nodeVersion: 'v20.20.0',
        hostnameHash: digest('host'),
        sandbox: { kind: 'bubblewrap', version: '0.8.0', profileDigest: digest('profile') },
      },
      labels: ['linux'],
      startedAt: AT,
      endedAt: AT,
    }),
    'policy-decisions.jsonl':
      sampleDecision({ decisionId: 'dec-0001', effect: 'allow', evaluatedAt: 'cloud' }) +
      sampleDecision({ decisionId: 'dec-0002', effect: 'allow', evaluatedAt: 'runtime' }),
    'tool-calls.jsonl': sampleToolCall('call-0001'),
    'file-diff.patch': diff,
    'test-results.json': canonicalize({
      schemaVersion: 1,
      runId: RUN_ID,
      status: 'completed',
      command: ['node', '--test'],
      exitCode: 0,
      durationMs: 120,
      counts: { total: 1, passed: 1, failed: 0, skipped: 0 },
      tests: [{ name: 'add adds', status: 'passed' }],
    }),
    'approval.json': canonicalize({
      schemaVersion: 1,
      runId: RUN_ID,
      askId: ASK_ID,
      status: 'not_requested',
      request: null,
      resolution: null,
      notRequestedReason: 'the demo approves automatically',
    }),
    'pr-summary.md': summary,
    'replay-link.txt': `http://127.0.0.1:4173/replay/${RUN_ID}\n`,
  });
}

/** The nine proof files of a run Rules stopped before any tool call. */
export function samplePolicyBlockedArtifacts(): ProofFiles {
  return withRuntimeReceipts({
    ...sampleHappyArtifacts(),
    'policy-decisions.jsonl': sampleDecision({ decisionId: 'dec-0001', effect: 'deny', evaluatedAt: 'cloud' }),
    'tool-calls.jsonl': '',
    'file-diff.patch': '',
    'pr-summary.md': '# No change\n\nRules denied the Ask before any tool call ran.\n',
    'test-results.json': canonicalize({ schemaVersion: 1, runId: RUN_ID, status: 'not_run', reason: 'Rules denied the Ask before any tool call ran.' }),
  });
}

export const SAMPLE_RUN_ID = RUN_ID;
export const SAMPLE_CREATED_AT = AT;
