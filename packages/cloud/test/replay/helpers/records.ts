// Schema-valid records of a small happy run and a policy-blocked run, for
// replay tests that must not depend on the chain being built. Tests mutate a
// fresh copy, re-seal the approval where the story needs it, and write it out.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ApprovalRecordSchema,
  AskSchema,
  NodeSessionSchema,
  PolicyDecisionRecordSchema,
  TestResultsSchema,
  ToolCallRecordSchema,
} from '@lumenflow/protocol';
import type { ApprovalRecord, Ask, NodeSession, PolicyDecisionRecord, TestResults, ToolCallRecord } from '@lumenflow/protocol';
import { canonicalizeToBytes } from '@lumenflow/protocol';
import type { RuntimeReceipt } from '@lumenflow/protocol';
import { generateSigningKeyPem, parseSigningKeyPem, writeBundle } from '@lumenflow/verifier';
import type { SigningKey } from '@lumenflow/verifier';
import { assembleChain, computeActionHash, hashBytes } from '@lumenflow/cloud';
import type { ReplayBundleFiles, ReplayChain } from '@lumenflow/cloud';

export interface RunRecords {
  mode: 'happy' | 'policy-blocked';
  runId: string;
  ask: Ask;
  session: NodeSession;
  decisions: PolicyDecisionRecord[];
  toolCalls: ToolCallRecord[];
  testResults: TestResults;
  approval: ApprovalRecord;
  diff: string;
  prSummary: string;
  replayLink: string;
  createdAt: string;
}

// TEST-ONLY runtime key from a fixed seed: the records' receipts are signed with it, as an enrolled runtime would.
const RUNTIME_KEY: SigningKey = parseSigningKeyPem(
  `-----BEGIN PRIVATE KEY-----\n${Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.alloc(32, 7)]).toString('base64')}\n-----END PRIVATE KEY-----\n`,
);
const BASELINE = 'b'.repeat(40);

/**
 * The session with fresh runtime receipts over the run's current records, so a
 * test that edits a record still gets a bundle whose only fault is the one it made.
 * A session whose runtime key is not the test key is left as the test set it.
 */
export function signRuntimeEvidence(run: RunRecords): NodeSession {
  if (run.session.runtimeEvidence.publicKeyPem !== RUNTIME_KEY.publicKeyPem) return run.session;
  const { runId, sessionId } = run.session;
  const receipts: RuntimeReceipt[] = [];
  const sign = (type: RuntimeReceipt['type'], extra: Record<string, unknown>, meta: { recordId?: string; baselineCommit?: string }): void => {
    const messageId = `rmsg_${String(receipts.length + 1).padStart(4, '0')}`;
    const value = Buffer.from(RUNTIME_KEY.sign(canonicalizeToBytes({ type, messageId, runId, sessionId, ...extra }))).toString('base64');
    receipts.push({ type, messageId, ...meta, signature: { keyId: RUNTIME_KEY.keyId, value } });
  };
  for (const record of run.decisions) if (record.evaluatedAt === 'runtime') sign('evidence.policy-decision', { record }, { recordId: record.decisionId });
  for (const record of run.toolCalls) sign('evidence.tool-call', { record }, { recordId: record.toolCallId });
  if (run.testResults.status === 'completed') sign('evidence.test-results', { record: run.testResults }, {});
  if (run.diff !== '') sign('evidence.diff', { baselineCommit: BASELINE, patch: run.diff }, { baselineCommit: BASELINE });
  return { ...run.session, runtime: { ...run.session.runtime, keyId: RUNTIME_KEY.keyId }, runtimeEvidence: { publicKeyPem: RUNTIME_KEY.publicKeyPem, receipts } };
}

const T0 = Date.parse('2026-11-23T10:00:00.000Z');
/** The run's clock: seconds after the Ask. */
export const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();
const digest = (text: string): string => hashBytes(new TextEncoder().encode(text));
const POLICY_DIGEST = digest('rules');

function decision(over: Partial<PolicyDecisionRecord> & Pick<PolicyDecisionRecord, 'decisionId' | 'timestamp' | 'scope' | 'effect'>): PolicyDecisionRecord {
  return {
    schemaVersion: 1,
    runId: 'run_0001',
    askId: 'ask_0001',
    evaluatedAt: 'cloud',
    matchedRuleIds: [`rules.${over.scope.kind}`],
    decidingRuleId: `rules.${over.scope.kind}`,
    reason: `${over.scope.kind} is ${over.effect} for this workspace`,
    policyDigest: POLICY_DIGEST,
    warnings: [],
    ...over,
  };
}

function toolCall(id: string, decisionId: string, start: number, tool: string, scope: ToolCallRecord['scope'], inputSummary: string): ToolCallRecord {
  return {
    schemaVersion: 1,
    toolCallId: id,
    runId: 'run_0001',
    askId: 'ask_0001',
    sessionId: 'sess_0001',
    tool,
    scope,
    inputSummary,
    inputHash: digest(inputSummary),
    decisionId,
    startedAt: at(start),
    endedAt: at(start + 1),
    status: 'succeeded',
    outputHash: digest(`${id} output`),
  };
}

const DIFF = `diff --git a/src/calc.js b/src/calc.js
index 1111111..2222222 100644
--- a/src/calc.js
+++ b/src/calc.js
@@ -1,3 +1,3 @@
 export function add(a, b) {
-  return a - b;
+  return a + b;
 }
`;

const PR = `# Fix add() in calc

The Ask: make the failing add test pass.

- src/calc.js: 1 line changed
- Tests: 2 passed, 0 failed
`;

/** A complete, consistent happy run whose every chain check passes. */
export function makeHappyRun(): RunRecords {
  const ask: Ask = {
    schemaVersion: 1,
    askId: 'ask_0001',
    operator: { id: 'op_ada', displayName: 'Ada Operator' },
    intent: 'Fix the failing add test in the calc package.',
    workspace: { repository: 'acme/calc', baseBranch: 'main' },
    requestedScopes: [
      { kind: 'fs.read', path: 'src/calc.js' },
      { kind: 'fs.write', path: 'src/calc.js' },
      { kind: 'shell.exec', program: 'node', args: ['--test'] },
      { kind: 'pr.create', repository: 'acme/calc', base: 'main' },
    ],
    runtimeLabels: ['linux'],
    createdAt: at(0),
  };
  const decisions: PolicyDecisionRecord[] = [
    decision({ decisionId: 'dec_0001', timestamp: at(1), scope: { kind: 'fs.read', target: 'src/calc.js' }, effect: 'allow' }),
    decision({ decisionId: 'dec_0002', timestamp: at(1), scope: { kind: 'fs.write', target: 'src/calc.js' }, effect: 'allow' }),
    decision({ decisionId: 'dec_0003', timestamp: at(1), scope: { kind: 'shell.exec', target: 'node --test' }, effect: 'allow' }),
    decision({ decisionId: 'dec_0004', timestamp: at(6), evaluatedAt: 'runtime', toolCallId: 'tc_0001', scope: { kind: 'fs.read', target: 'src/calc.js' }, effect: 'allow' }),
    decision({ decisionId: 'dec_0005', timestamp: at(8), evaluatedAt: 'runtime', toolCallId: 'tc_0002', scope: { kind: 'fs.write', target: 'src/calc.js' }, effect: 'allow' }),
    decision({ decisionId: 'dec_0006', timestamp: at(10), evaluatedAt: 'runtime', toolCallId: 'tc_0003', scope: { kind: 'shell.exec', target: 'node --test' }, effect: 'allow' }),
    decision({ decisionId: 'dec_0007', timestamp: at(20), scope: { kind: 'pr.create', target: 'acme/calc:main' }, effect: 'approval_required', decidingRuleId: 'rules.pr.needs-approval', matchedRuleIds: ['rules.pr.needs-approval'] }),
  ];
  const toolCalls = [
    toolCall('tc_0001', 'dec_0004', 6, 'fs.read', { kind: 'fs.read', target: 'src/calc.js' }, 'read src/calc.js'),
    toolCall('tc_0002', 'dec_0005', 8, 'fs.write', { kind: 'fs.write', target: 'src/calc.js' }, 'write src/calc.js (1 line changed)'),
    { ...toolCall('tc_0003', 'dec_0006', 10, 'shell.exec', { kind: 'shell.exec', target: 'node --test' }, 'node --test'), endedAt: at(12), exitCode: 0, sandbox: { kind: 'bubblewrap' as const, profileDigest: digest('profile') } },
  ];
  const run: RunRecords = {
    mode: 'happy',
    runId: 'run_0001',
    ask,
    session: {
      schemaVersion: 1,
      sessionId: 'sess_0001',
      runId: 'run_0001',
      askId: 'ask_0001',
      runtime: { runtimeId: 'rt_0001', keyId: RUNTIME_KEY.keyId, version: '0.1.0', os: 'linux', arch: 'x64', nodeVersion: 'v20.20.0', hostnameHash: digest('host'), sandbox: { kind: 'bubblewrap', version: '0.8.0', profileDigest: digest('profile') } },
      labels: ['linux'],
      startedAt: at(5),
      endedAt: at(50),
      runtimeEvidence: { publicKeyPem: RUNTIME_KEY.publicKeyPem, receipts: [] },
    },
    decisions,
    toolCalls,
    testResults: {
      schemaVersion: 1,
      runId: 'run_0001',
      status: 'completed',
      command: ['node', '--test'],
      exitCode: 0,
      durationMs: 1800,
      counts: { total: 2, passed: 2, failed: 0, skipped: 0 },
      tests: [
        { name: 'add adds', status: 'passed' },
        { name: 'add is commutative', status: 'passed' },
      ],
    },
    approval: {
      schemaVersion: 1,
      runId: 'run_0001',
      askId: 'ask_0001',
      status: 'approved',
      request: {
        approvalId: 'apr_0001',
        action: { kind: 'pr.create', repository: 'acme/calc', base: 'main', head: 'lumenflow/run_0001' },
        diffSha256: digest(''),
        prTextSha256: digest(''),
        actionHash: digest(''),
        decisionId: 'dec_0007',
        requestedBy: 'runtime:rt_0001',
        requestedAt: at(21),
        expiresAt: at(21 + 3600),
      },
      resolution: { approver: 'reviewer:bob', decision: 'approved', reason: 'Diff and tests look right.', decidedAt: at(30) },
    },
    diff: DIFF,
    prSummary: PR,
    replayLink: 'http://127.0.0.1:4173/runs/run_0001\n',
    createdAt: at(60),
  };
  return sealApproval(run);
}

/** A run that Rules halted at the Ask: a Cloud deny, no tool call, no approval. */
export function makePolicyBlockedRun(): RunRecords {
  const run = makeHappyRun();
  run.mode = 'policy-blocked';
  run.ask.intent = 'Rotate the production database password.';
  run.ask.requestedScopes = [{ kind: 'secret.write', environment: 'production', name: 'DATABASE_URL' }];
  run.decisions = [
    decision({ decisionId: 'dec_0001', timestamp: at(1), scope: { kind: 'secret.write', target: 'production/DATABASE_URL' }, effect: 'deny', decidingRuleId: 'rules.secrets.production-deny', matchedRuleIds: ['rules.secrets.production-deny'], reason: 'Production secrets are never written by runs.' }),
  ];
  run.session = { ...run.session, startedAt: at(2), endedAt: at(3) };
  run.toolCalls = [];
  run.testResults = { schemaVersion: 1, runId: 'run_0001', status: 'not_run', reason: 'The run was halted by Rules before any tool call.' };
  run.approval = { schemaVersion: 1, runId: 'run_0001', askId: 'ask_0001', status: 'not_requested', request: null, resolution: null, notRequestedReason: 'Rules denied the Ask; nothing to approve.' };
  run.diff = '';
  run.prSummary = 'No PR was opened: Rules denied the Ask (rules.secrets.production-deny).\n';
  run.createdAt = at(4);
  return run;
}

/** Recomputes the approval's digests and action hash from the run's current diff and PR text. */
export function sealApproval(run: RunRecords): RunRecords {
  const request = run.approval.request;
  if (request !== null) {
    request.diffSha256 = digest(run.diff);
    request.prTextSha256 = digest(run.prSummary);
    request.actionHash = computeActionHash(request);
  }
  return run;
}

const jsonl = (records: readonly unknown[]): string => records.map((r) => `${JSON.stringify(r)}\n`).join('');

/** The nine proof files of a run, as the bundle carries them. Throws if a record is schema-invalid (a test bug). */
export function toArtifacts(run: RunRecords, { validate = true } = {}): Record<string, string> {
  if (validate) {
    AskSchema.parse(run.ask);
    NodeSessionSchema.parse(run.session);
    run.decisions.forEach((d) => PolicyDecisionRecordSchema.parse(d));
    run.toolCalls.forEach((c) => ToolCallRecordSchema.parse(c));
    TestResultsSchema.parse(run.testResults);
    ApprovalRecordSchema.parse(run.approval);
  }
  return {
    'ask.json': `${JSON.stringify(run.ask, null, 2)}\n`,
    'node-session.json': `${JSON.stringify(signRuntimeEvidence(run), null, 2)}\n`,
    'policy-decisions.jsonl': jsonl(run.decisions),
    'tool-calls.jsonl': jsonl(run.toolCalls),
    'file-diff.patch': run.diff,
    'test-results.json': `${JSON.stringify(run.testResults, null, 2)}\n`,
    'approval.json': `${JSON.stringify(run.approval, null, 2)}\n`,
    'pr-summary.md': run.prSummary,
    'replay-link.txt': run.replayLink,
  };
}

/** The parsed files of a run, as readBundleForReplay would return them for a clean bundle. */
export function toFiles(run: RunRecords, dir = `/bundles/${run.runId}`): ReplayBundleFiles {
  const enc = new TextEncoder();
  return {
    dir,
    readable: true,
    ask: run.ask,
    session: signRuntimeEvidence(run),
    decisions: run.decisions,
    toolCalls: run.toolCalls,
    testResults: run.testResults,
    approval: run.approval,
    diff: enc.encode(run.diff),
    prSummary: enc.encode(run.prSummary),
    replayLink: run.replayLink,
    manifest: { runId: run.runId, mode: run.mode, createdAt: run.createdAt, keyId: digest('test key') },
    digests: {},
    problems: [],
  };
}

/** The assembled chain of a run, without touching disk. */
export function toChain(run: RunRecords): ReplayChain {
  return assembleChain(toFiles(run));
}

let cachedKey: SigningKey | undefined;
/** One test-only signing key per test file; never a real key. */
export function testSigningKey(): SigningKey {
  cachedKey ??= parseSigningKeyPem(generateSigningKeyPem());
  return cachedKey;
}

/** Writes the run as a signed bundle under a fresh temp root; returns its directory. */
export async function writeRunBundle(run: RunRecords, root: string, key: SigningKey = testSigningKey(), { validate = true } = {}): Promise<string> {
  const { dir } = await writeBundle({ outDir: root, runId: run.runId, mode: run.mode, createdAt: run.createdAt, artifacts: toArtifacts(run, { validate }), signingKey: key });
  return dir;
}

/** A temp directory and its cleanup. */
export async function makeTempRoot(prefix = 'lumenflow-replay-'): Promise<{ root: string; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  return { root, cleanup: () => rm(root, { recursive: true, force: true }) };
}
