import { canonicalizeToBytes } from '@lumenflow/protocol';
import type { NodeSession, PolicyDecisionRecord, RuntimeReceipt, TestResults, ToolCallRecord } from '@lumenflow/protocol';
import { computeKeyId, encodePublicKeyDer, parsePublicKeyPem, verifyEd25519 } from '@lumenflow/verifier';

/** Why a bundle's runtime evidence does not hold. */
export type RuntimeReceiptProblemCode =
  | 'RECEIPTS_ABSENT'
  | 'RUNTIME_KEY_INVALID'
  | 'RUNTIME_KEY_MISMATCH'
  | 'RECEIPT_MISSING'
  | 'RECEIPT_DUPLICATE'
  | 'RECEIPT_UNMATCHED'
  | 'RECEIPT_SIGNATURE_INVALID';

export interface RuntimeReceiptProblem {
  code: RuntimeReceiptProblemCode;
  /** The record or message concerned, when there is one. */
  subject?: string;
}

export interface RuntimeReceiptReport {
  ok: boolean;
  /** Receipts whose signature verified against the runtime's key. */
  verified: number;
  problems: RuntimeReceiptProblem[];
}

/** The bundle files the runtime's messages are rebuilt from. */
export interface RuntimeReceiptInputs {
  nodeSession: NodeSession;
  decisions: readonly PolicyDecisionRecord[];
  toolCalls: readonly ToolCallRecord[];
  testResults: TestResults;
  patch: string;
}

/**
 * Checks that every record the runtime made (its policy decisions, tool calls,
 * completed test results and the diff) carries the runtime's own Ed25519
 * signature (RFC 8032, strict), rebuilt from the bundle's files, under the key
 * node-session.json names. This is the proof that the records came from the
 * enrolled machine and not from Cloud alone; it says nothing about whether
 * that key is one you trust, which is for the caller to pin. Never throws on bad input.
 */
export function verifyRuntimeReceipts(inputs: RuntimeReceiptInputs): RuntimeReceiptReport {
  const problems: RuntimeReceiptProblem[] = [];
  const evidence = inputs.nodeSession.runtimeEvidence;
  if (evidence === undefined) return { ok: false, verified: 0, problems: [{ code: 'RECEIPTS_ABSENT' }] };
  let publicKey: Uint8Array;
  try {
    publicKey = parsePublicKeyPem(evidence.publicKeyPem);
  } catch {
    return { ok: false, verified: 0, problems: [{ code: 'RUNTIME_KEY_INVALID' }] };
  }
  const keyId = computeKeyId(encodePublicKeyDer(publicKey));
  if (keyId !== inputs.nodeSession.runtime.keyId) return { ok: false, verified: 0, problems: [{ code: 'RUNTIME_KEY_MISMATCH' }] };

  const { runId, sessionId } = inputs.nodeSession;
  const base = (r: RuntimeReceipt): { type: RuntimeReceipt['type']; messageId: string; runId: string; sessionId: string } => ({ type: r.type, messageId: r.messageId, runId, sessionId });
  const byKey = new Map<string, RuntimeReceipt>();
  for (const receipt of evidence.receipts) {
    const key = `${receipt.type}/${receipt.recordId ?? ''}`;
    if (byKey.has(key)) problems.push({ code: 'RECEIPT_DUPLICATE', subject: key });
    byKey.set(key, receipt);
  }
  let verified = 0;
  const used = new Set<string>();
  const check = (key: string, rebuild: (r: RuntimeReceipt) => unknown): void => {
    const receipt = byKey.get(key);
    if (receipt === undefined) {
      problems.push({ code: 'RECEIPT_MISSING', subject: key });
      return;
    }
    used.add(key);
    const ok =
      receipt.signature.keyId === keyId &&
      verifyEd25519(new Uint8Array(Buffer.from(receipt.signature.value, 'base64')), canonicalizeToBytes(rebuild(receipt)), publicKey);
    if (ok) verified++;
    else problems.push({ code: 'RECEIPT_SIGNATURE_INVALID', subject: key });
  };

  for (const record of inputs.decisions) {
    if (record.evaluatedAt !== 'runtime') continue;
    check(`evidence.policy-decision/${record.decisionId}`, (r) => ({ ...base(r), record }));
  }
  for (const record of inputs.toolCalls) check(`evidence.tool-call/${record.toolCallId}`, (r) => ({ ...base(r), record }));
  if (inputs.testResults.status === 'completed') check('evidence.test-results/', (r) => ({ ...base(r), record: inputs.testResults }));
  if (inputs.patch !== '') {
    check('evidence.diff/', (r) => ({ ...base(r), baselineCommit: r.baselineCommit ?? '', patch: inputs.patch }));
  }
  for (const key of byKey.keys()) if (!used.has(key)) problems.push({ code: 'RECEIPT_UNMATCHED', subject: key });
  return { ok: problems.length === 0, verified, problems };
}
