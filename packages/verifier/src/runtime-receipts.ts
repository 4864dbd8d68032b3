import { RuntimeToCloudMessageSchema, canonicalizeToBytes, isPullRequestCall } from '@lumenflow/protocol';
import type { NodeSession, PolicyDecisionRecord, RuntimeReceipt, TestResults, ToolCallRecord } from '@lumenflow/protocol';
import { computeKeyId, encodePublicKeyDer, parsePublicKeyPem, verifyEd25519 } from './keys.js';

/** Why a bundle's runtime evidence does not hold. */
export type RuntimeReceiptProblemCode =
  | 'RECEIPTS_ABSENT'
  | 'RUNTIME_KEY_INVALID'
  | 'RUNTIME_KEY_MISMATCH'
  | 'RECEIPT_MISSING'
  | 'RECEIPT_DUPLICATE'
  | 'RECEIPT_UNMATCHED'
  | 'RECEIPT_SIGNATURE_INVALID'
  | 'RECEIPT_BASE_MISMATCH';

export interface RuntimeReceiptProblem {
  code: RuntimeReceiptProblemCode;
  /** `<message type>/<record id>` of the receipt or record concerned, when there is one. */
  subject?: string;
}

export interface RuntimeReceiptReport {
  ok: boolean;
  /** Receipts whose signature verified against the runtime's key. */
  verified: number;
  /** The key id the receipts were checked under, when the runtime key parsed. */
  runtimeKeyId?: string;
  /** The first problems found (at most {@link MAX_RECEIPT_PROBLEMS}); `problemCount` counts them all. */
  problems: RuntimeReceiptProblem[];
  problemCount: number;
}

/** The bundle files the runtime's messages are rebuilt from. */
export interface RuntimeReceiptInputs {
  nodeSession: NodeSession;
  decisions: readonly PolicyDecisionRecord[];
  toolCalls: readonly ToolCallRecord[];
  testResults: TestResults;
  patch: string;
}

/** Checks records one at a time as a bundle is streamed, so memory stays bounded by the receipts. */
export interface RuntimeReceiptChecker {
  addDecision(record: PolicyDecisionRecord): void;
  addToolCall(record: ToolCallRecord): void;
  finish(rest: { testResults: TestResults; patch: string }): RuntimeReceiptReport;
}

/** A hostile bundle can fail every record; the report keeps the first few and a count. */
export const MAX_RECEIPT_PROBLEMS = 50;

/**
 * Checks that every record the runtime made (its policy decisions, tool calls,
 * test results and the diff, and its acceptance of the session when the bundle
 * keeps it) carries exactly one Ed25519 signature (RFC 8032,
 * strict) by the runtime's enrolled key, over the protocol message rebuilt from
 * the bundle's files in RFC 8785 form. Cloud's own decisions (`evaluatedAt:
 * cloud`) need none. This is what shows that the records came from the enrolled
 * machine and not from Cloud alone: the bundle signer cannot make these
 * signatures. It says nothing about whether the runtime key is one you trust.
 * Never throws on bad input.
 */
export function verifyRuntimeReceipts(inputs: RuntimeReceiptInputs): RuntimeReceiptReport {
  const checker = createRuntimeReceiptChecker(inputs.nodeSession);
  for (const record of inputs.decisions) checker.addDecision(record);
  for (const record of inputs.toolCalls) checker.addToolCall(record);
  return checker.finish({ testResults: inputs.testResults, patch: inputs.patch });
}

/** The incremental form of {@link verifyRuntimeReceipts}: feed records in any order, then `finish`. */
export function createRuntimeReceiptChecker(nodeSession: NodeSession): RuntimeReceiptChecker {
  const problems: RuntimeReceiptProblem[] = [];
  let problemCount = 0;
  const report = (code: RuntimeReceiptProblemCode, subject?: string): void => {
    problemCount++;
    if (problems.length < MAX_RECEIPT_PROBLEMS) problems.push(subject === undefined ? { code } : { code, subject });
  };
  const evidence = (nodeSession as Partial<NodeSession>).runtimeEvidence;
  let publicKey: Uint8Array | undefined;
  let keyId: string | undefined;
  if (evidence === undefined) report('RECEIPTS_ABSENT');
  else {
    try {
      publicKey = parsePublicKeyPem(evidence.publicKeyPem);
      keyId = computeKeyId(encodePublicKeyDer(publicKey));
      // The key id Cloud enrolled is what node-session names; a different key here is a substitute.
      if (keyId !== nodeSession.runtime.keyId) report('RUNTIME_KEY_MISMATCH');
    } catch {
      report('RUNTIME_KEY_INVALID');
    }
  }
  const usable = problemCount === 0 && publicKey !== undefined && keyId !== undefined && evidence !== undefined;
  const runtimeKey = usable ? publicKey : undefined;

  const byKey = new Map<string, RuntimeReceipt>();
  if (usable) {
    for (const receipt of evidence.receipts) {
      const key = `${receipt.type}/${receipt.recordId ?? ''}`;
      // Two receipts for one record would let one of them sign something the bundle does not show.
      if (byKey.has(key)) report('RECEIPT_DUPLICATE', key);
      else byKey.set(key, receipt);
    }
  }
  let verified = 0;
  const used = new Set<string>();
  const { runId, sessionId } = nodeSession;

  const check = (key: string, rebuild: (r: RuntimeReceipt) => Record<string, unknown>, required: boolean): void => {
    if (runtimeKey === undefined) return;
    const receipt = byKey.get(key);
    if (receipt === undefined) {
      if (required) report('RECEIPT_MISSING', key);
      return;
    }
    if (used.has(key)) {
      // One receipt can vouch for one record only; a second record with the same id is a copy.
      report('RECEIPT_DUPLICATE', key);
      return;
    }
    used.add(key);
    const message = { type: receipt.type, messageId: receipt.messageId, runId, sessionId, ...rebuild(receipt) };
    // Rebuilt through the protocol's own message schema, so the bytes checked are a message the runtime could have sent.
    const parsed = RuntimeToCloudMessageSchema.safeParse({ ...message, signature: receipt.signature });
    const ok =
      parsed.success &&
      receipt.signature.keyId === keyId &&
      verifyEd25519(new Uint8Array(Buffer.from(receipt.signature.value, 'base64')), canonicalizeToBytes(message), runtimeKey);
    if (ok) verified++;
    else report('RECEIPT_SIGNATURE_INVALID', key);
  };

  return {
    addDecision(record) {
      if (record.evaluatedAt !== 'runtime') return;
      check(`evidence.policy-decision/${record.decisionId}`, () => ({ record }), true);
    },
    addToolCall(record) {
      // Cloud's pull-request call is Cloud's record, like its decisions; every other call needs the runtime's signature.
      if (isPullRequestCall(record)) return;
      check(`evidence.tool-call/${record.toolCallId}`, () => ({ record }), true);
    },
    finish({ testResults, patch }) {
      // Completed results only come from a test run on the runtime; `not_run` may be Cloud's own note.
      check('evidence.test-results/', () => ({ record: testResults }), testResults.status === 'completed');
      // An empty diff may be Cloud's (a run halted before any change); any change came from the runtime.
      check('evidence.diff/', (r) => ({ baselineCommit: r.baselineCommit ?? '', patch }), patch !== '');
      // The acceptance names the base commit the workspace was checked out at, also for a run that ended before any
      // diff. Bundles from before it was kept, and sessions the runtime refused, have none.
      check('session.accepted/', (r) => ({ startedAt: nodeSession.startedAt, baselineCommit: r.baselineCommit ?? '', sandbox: nodeSession.runtime.sandbox }), false);
      const acceptedBase = byKey.get('session.accepted/')?.baselineCommit;
      const diffBase = byKey.get('evidence.diff/')?.baselineCommit;
      // A diff against another base than the one the session was accepted at is not this session's change.
      if (acceptedBase !== undefined && diffBase !== undefined && acceptedBase !== diffBase) report('RECEIPT_BASE_MISMATCH', 'evidence.diff/');
      for (const key of byKey.keys()) if (!used.has(key)) report('RECEIPT_UNMATCHED', key);
      return { ok: problemCount === 0, verified, ...(keyId !== undefined && { runtimeKeyId: keyId }), problems, problemCount };
    },
  };
}
