import { omitUndefined } from '@lumenflow/protocol';
import type { ApprovalRecord, Ask, NodeSession, PolicyDecisionRecord, RuntimeReceipt, SessionEndedMessage, TestResults, ToolCallRecord } from '@lumenflow/protocol';
import { encodePublicKeyPem, writeBundle } from '@lumenflow/verifier';
import type { BundleMode } from '@lumenflow/verifier';
import { formatJsonFile, formatJsonLines } from './proof-files.js';
import type { DispatchedSession, RunContext } from './run-context.js';
import type { SessionAccepted } from './session-inbox.js';
import { keepReceipts } from './session-inbox.js';

/** The node-session.json record: which runtime ran the session, in what sandbox, with its signed receipts. Pure. */
export function describeNodeSession(opts: {
  ask: Ask;
  session: DispatchedSession;
  accepted: Pick<SessionAccepted, 'startedAt' | 'sandbox'>;
  ended: SessionEndedMessage;
  patch: string;
  receipts: readonly RuntimeReceipt[];
}): NodeSession {
  const { ask, accepted, ended } = opts;
  const { runtime, sessionId, inbox } = opts.session;
  return {
    schemaVersion: 1,
    sessionId,
    runId: inbox.runId,
    askId: ask.askId,
    runtime: {
      runtimeId: runtime.runtimeId,
      keyId: runtime.keyId,
      version: runtime.version,
      os: runtime.host.os,
      arch: runtime.host.arch,
      nodeVersion: runtime.host.nodeVersion,
      hostnameHash: runtime.host.hostnameHash,
      sandbox: accepted.sandbox,
    },
    labels: [...runtime.labels],
    startedAt: accepted.startedAt,
    endedAt: ended.endedAt,
    ...omitUndefined({ agent: ended.agent }),
    runtimeEvidence: { publicKeyPem: encodePublicKeyPem(runtime.publicKey), receipts: keepReceipts(opts.receipts, opts.patch, inbox.patch) },
  };
}

/** The bundle's proof files but approval.json. Pure. */
export function listProofFiles(opts: {
  ask: Ask;
  nodeSession: NodeSession;
  decisions: readonly PolicyDecisionRecord[];
  toolCalls: readonly ToolCallRecord[];
  patch: string;
  testResults: TestResults;
  prText: string;
  replayUrl: string;
}): Record<string, string> {
  return {
    'ask.json': formatJsonFile(opts.ask),
    'node-session.json': formatJsonFile(opts.nodeSession),
    'policy-decisions.jsonl': formatJsonLines(opts.decisions),
    'tool-calls.jsonl': formatJsonLines(opts.toolCalls),
    'file-diff.patch': opts.patch,
    'test-results.json': formatJsonFile(opts.testResults),
    'pr-summary.md': opts.prText,
    'replay-link.txt': `${opts.replayUrl}\n`,
  };
}

/**
 * Step "proof": the verifier package signs the files and writes them atomically.
 *
 * @throws {VerifierError} BUNDLE_EXISTS and the other bundle-writing codes.
 */
export async function assembleProof(
  ctx: RunContext,
  mode: BundleMode,
  files: Record<string, string>,
  approval: ApprovalRecord,
): Promise<Awaited<ReturnType<typeof writeBundle>>> {
  ctx.progress({ step: 'proof', state: 'running', detail: 'assembling' });
  const artifacts: Record<string, string> = { ...files, 'approval.json': formatJsonFile(approval) };
  const written = await writeBundle({ outDir: ctx.request.outDir, runId: ctx.request.runId, mode, createdAt: ctx.now(), artifacts, signingKey: ctx.cloud.signingKey });
  ctx.progress({ step: 'proof', state: 'ok', detail: `signed by ${written.keyId}` });
  return written;
}
