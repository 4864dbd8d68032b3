import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { NodeSessionSchema, PolicyDecisionRecordSchema, TestResultsSchema, ToolCallRecordSchema } from '@lumenflow/protocol';
import type { NodeSession, PolicyDecisionRecord, ToolCallRecord } from '@lumenflow/protocol';
import { generateSigningKeyPem, parseSigningKeyPem, verifyBundle, verifyRuntimeReceipts, writeBundle } from '@lumenflow/verifier';
import type { RuntimeReceiptInputs } from '@lumenflow/verifier';
import { loadTestKeys } from './support/vector-corpus.js';
import { SAMPLE_BASELINE, sampleDecision, sampleHappyArtifacts, sampleToolCall, withRuntimeReceipts } from './support/sample-artifacts.js';
import { useTempDirs } from './support/temp-dir.js';

const tempDir = useTempDirs();

function inputsOf(files: ReturnType<typeof sampleHappyArtifacts>): RuntimeReceiptInputs {
  const lines = (text: string): unknown[] => text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown);
  return {
    nodeSession: NodeSessionSchema.parse(JSON.parse(files['node-session.json'])),
    decisions: lines(files['policy-decisions.jsonl']).map((d) => PolicyDecisionRecordSchema.parse(d)),
    toolCalls: lines(files['tool-calls.jsonl']).map((c) => ToolCallRecordSchema.parse(c)),
    testResults: TestResultsSchema.parse(JSON.parse(files['test-results.json'])),
    patch: files['file-diff.patch'],
  };
}

const codes = (inputs: RuntimeReceiptInputs): string[] => verifyRuntimeReceipts(inputs).problems.map((p) => p.code);

describe('verifyRuntimeReceipts', () => {
  it('accepts a run whose every runtime record carries its receipt, and needs none for Cloud decisions', () => {
    const report = verifyRuntimeReceipts(inputsOf(sampleHappyArtifacts()));
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    // One runtime decision, one tool call, the test results and the diff; the Cloud decision has none.
    expect(report.verified).toBe(4);
  });

  it('refuses any change to a runtime tool call the runtime did not sign', () => {
    const base = inputsOf(sampleHappyArtifacts());
    const original = base.toolCalls[0] as ToolCallRecord;
    fc.assert(
      fc.property(fc.constantFrom('inputSummary', 'tool', 'outputHash', 'endedAt'), fc.string({ minLength: 1, maxLength: 8 }), (field, suffix) => {
        const changed = { ...original, [field]: field === 'outputHash' ? `sha256:${'f'.repeat(64)}` : field === 'endedAt' ? '2026-11-23T10:00:01.000Z' : `${original[field]}${suffix}` };
        expect(codes({ ...base, toolCalls: [changed] })).toEqual(['RECEIPT_SIGNATURE_INVALID']);
      }),
      { numRuns: 40 },
    );
  });

  it('refuses a runtime decision turned from allow to deny, a missing receipt, and an extra receipt', () => {
    const base = inputsOf(sampleHappyArtifacts());
    const runtimeDecision = base.decisions.find((d) => d.evaluatedAt === 'runtime') as PolicyDecisionRecord;
    const flipped = base.decisions.map((d) => (d === runtimeDecision ? { ...d, effect: 'deny' as const } : d));
    expect(codes({ ...base, decisions: flipped })).toEqual(['RECEIPT_SIGNATURE_INVALID']);
    const added = ToolCallRecordSchema.parse(JSON.parse(sampleToolCall('call-0002')));
    expect(codes({ ...base, toolCalls: [...base.toolCalls, added] })).toEqual(['RECEIPT_MISSING']);
    expect(codes({ ...base, toolCalls: [] })).toEqual(['RECEIPT_UNMATCHED']);
    // A Cloud decision needs no receipt, so adding one is not a runtime claim.
    const cloud = PolicyDecisionRecordSchema.parse(JSON.parse(sampleDecision({ decisionId: 'dec-0009', effect: 'allow', evaluatedAt: 'cloud' })));
    expect(codes({ ...base, decisions: [...base.decisions, cloud] })).toEqual([]);
  });

  it('refuses a runtime key other than the enrolled one, a missing key, and a duplicated receipt', () => {
    const base = inputsOf(sampleHappyArtifacts());
    const session = base.nodeSession;
    const other = parseSigningKeyPem(generateSigningKeyPem());
    expect(codes({ ...base, nodeSession: { ...session, runtimeEvidence: { ...session.runtimeEvidence, publicKeyPem: other.publicKeyPem } } })).toEqual(['RUNTIME_KEY_MISMATCH']);
    expect(codes({ ...base, nodeSession: { ...session, runtimeEvidence: { ...session.runtimeEvidence, publicKeyPem: 'not a key' } } })).toEqual(['RUNTIME_KEY_INVALID']);
    const { runtimeEvidence: _, ...bare } = session;
    expect(codes({ ...base, nodeSession: bare as NodeSession })).toEqual(['RECEIPTS_ABSENT']);
    const receipts = session.runtimeEvidence.receipts;
    expect(codes({ ...base, nodeSession: { ...session, runtimeEvidence: { ...session.runtimeEvidence, receipts: [...receipts, receipts[0]!] } } })).toContain('RECEIPT_DUPLICATE');
  });

  it("checks the session's acceptance when node-session keeps it: its signature, and the same base commit as the diff", () => {
    const accepted = inputsOf(withRuntimeReceipts(sampleHappyArtifacts(), undefined, { acceptedAt: SAMPLE_BASELINE }));
    const report = verifyRuntimeReceipts(accepted);
    expect(report.problems).toEqual([]);
    expect(report.verified).toBe(5);
    const session = accepted.nodeSession;
    const receipts = session.runtimeEvidence.receipts;
    const withAcceptance = (edit: (r: (typeof receipts)[number]) => (typeof receipts)[number]): NodeSession => ({
      ...session,
      runtimeEvidence: { ...session.runtimeEvidence, receipts: receipts.map((r) => (r.type === 'session.accepted' ? edit(r) : r)) },
    });
    // Another base named in the receipt than the one the runtime signed.
    expect(codes({ ...accepted, nodeSession: withAcceptance((r) => ({ ...r, baselineCommit: 'c'.repeat(40) })) })).toContain('RECEIPT_SIGNATURE_INVALID');
    // node-session's start time or sandbox is part of what the runtime signed.
    expect(codes({ ...accepted, nodeSession: { ...session, startedAt: '2026-11-23T10:00:09.000Z' } })).toEqual(['RECEIPT_SIGNATURE_INVALID']);
    // Signed, but at another base than the diff's: the diff is not this session's change.
    const elsewhere = inputsOf(withRuntimeReceipts(sampleHappyArtifacts(), undefined, { acceptedAt: 'c'.repeat(40) }));
    expect(codes(elsewhere)).toEqual(['RECEIPT_BASE_MISMATCH']);
  });

  it('refuses receipts signed by a key other than the runtime key node-session names', () => {
    const other = parseSigningKeyPem(generateSigningKeyPem());
    const files = sampleHappyArtifacts();
    const resigned = withRuntimeReceipts(files, other);
    // The evidence now names `other` consistently; restore the enrolled key id Cloud recorded.
    const session = JSON.parse(resigned['node-session.json']) as NodeSession;
    const enrolled = (JSON.parse(files['node-session.json']) as NodeSession).runtime.keyId;
    expect(codes({ ...inputsOf(resigned), nodeSession: { ...session, runtime: { ...session.runtime, keyId: enrolled } } })).toEqual(['RUNTIME_KEY_MISMATCH']);
  });
});

describe('verifyBundle: runtime.receipts', () => {
  it('fails a bundle whose tool-calls.jsonl was edited and the whole bundle re-signed by its own signer', async () => {
    const { key } = await loadTestKeys();
    const files = sampleHappyArtifacts();
    const edited = { ...files, 'tool-calls.jsonl': files['tool-calls.jsonl'].replace('"status":"succeeded"', '"status":"failed"') };
    const outDir = await tempDir();
    const good = await writeBundle({ outDir, runId: 'run-good', mode: 'happy', createdAt: '2026-11-23T10:00:00.000Z', artifacts: files, signingKey: key });
    const bad = await writeBundle({ outDir, runId: 'run-bad', mode: 'happy', createdAt: '2026-11-23T10:00:00.000Z', artifacts: edited, signingKey: key });
    const goodReport = await verifyBundle(good.dir, { expectKeyId: key.keyId });
    expect(goodReport.checks.find((c) => c.name === 'runtime.receipts')).toMatchObject({ ok: true });
    expect(goodReport.valid).toBe(true);
    const badReport = await verifyBundle(bad.dir, { expectKeyId: key.keyId });
    expect(badReport.valid).toBe(false);
    // Every signer check passes: only the runtime's own signature shows the edit.
    expect(badReport.checks.filter((c) => !c.ok).map((c) => [c.name, c.code])).toEqual([['runtime.receipts', 'RECEIPT_SIGNATURE_INVALID']]);
  });
});
