import { createRedactor, secretsFromEnvironment } from '@lumenflow/protocol';
import type { RedactionSummary, Redactor } from '@lumenflow/protocol';
import { verifyBundle } from '@lumenflow/verifier';
import type { VerificationReport, VerifyBundleOptions } from '@lumenflow/verifier';
import { assembleChain } from './assemble-chain.js';
import { buildTimeline } from './build-timeline.js';
import { checkChain } from './check-chain.js';
import { readBundleForReplay } from './read-bundle.js';
import type { ChainCheck, ReplayChain, TimelineEvent } from './types.js';

/** Everything replay knows about one bundle: the verdict, both sets of checks, and the timeline. */
export interface ReplayReport {
  /** True only when the bundle verifies and every chain check passes. */
  valid: boolean;
  verdict: 'VALID' | 'INVALID';
  /** False when not one proof file could be read: there is no story to show. */
  readable: boolean;
  dir: string;
  runId: string | null;
  mode: string | null;
  keyId: string | null;
  /** Whether the signer was checked against a key the caller trusts, not just the bundle's own PEM. */
  signerPinned: boolean;
  /**
   * What a VALID verdict does not cover, shown on the verdict line: e.g. the
   * runtime opted out of the sandbox, so its tool processes ran unbounded.
   */
  warnings: string[];
  verification: VerificationReport;
  chainChecks: ChainCheck[];
  timeline: TimelineEvent[];
  chain: ReplayChain;
  /** What the Proof says was redacted before it was signed: one entry per record that carries a summary (docs/secrets.md). */
  redactions: ReplayRedaction[];
}

/** One record's redaction summary, as Replay shows it: never the values, which the bundle does not hold. */
export interface ReplayRedaction {
  /** The proof file and, for a JSONL line, the record's id. */
  file: string;
  ref: string | null;
  summary: RedactionSummary;
}

/**
 * Combines a verification report with a chain's checks and timeline. Pure.
 * What Replay shows is output like any other: every text of the report passes
 * `redactor` (default: the built-in patterns), after the checks ran on the
 * bundle as it is (ADR 0034).
 */
export function buildReplayReport(chain: ReplayChain, verification: VerificationReport, redactor: Redactor = createRedactor()): ReplayReport {
  const chainChecks = checkChain(chain, { manifestSha256: verification.manifestSha256 });
  const timeline = buildTimeline(chain);
  const codesByRef = new Map<string, Set<ChainCheck['code']>>();
  for (const check of chainChecks) {
    for (const finding of check.findings) {
      for (const ref of finding.refs) {
        const codes = codesByRef.get(ref) ?? new Set();
        codes.add(check.code);
        codesByRef.set(ref, codes);
      }
    }
  }
  for (const event of timeline) {
    if (event.ref !== null) event.problemCodes = [...(codesByRef.get(event.ref) ?? [])];
  }
  const valid = verification.valid && chainChecks.every((c) => c.ok);
  const warnings: string[] = [];
  const boundary = chain.session?.runtime.sandbox;
  if (boundary?.kind === 'none') warnings.push(`NO SANDBOX: the runtime ran tool processes without one (${boundary.reason})`);
  const shown = redactor.redactValue({ warnings, verification, chainChecks, timeline, chain }).value;
  return {
    ...shown,
    valid,
    verdict: valid ? 'VALID' : 'INVALID',
    readable: chain.readable,
    dir: chain.dir,
    runId: chain.runId ?? verification.runId ?? null,
    mode: chain.mode ?? verification.mode ?? null,
    keyId: verification.keyId ?? chain.manifest?.keyId ?? null,
    signerPinned: verification.signerPinned,
    redactions: listRedactions(chain),
  };
}

function listRedactions(chain: ReplayChain): ReplayRedaction[] {
  const out: ReplayRedaction[] = [];
  for (const d of chain.decisions) if (d.redaction !== undefined) out.push({ file: 'policy-decisions.jsonl', ref: d.decisionId, summary: d.redaction });
  for (const c of chain.toolCalls) if (c.call.redaction !== undefined) out.push({ file: 'tool-calls.jsonl', ref: c.call.toolCallId, summary: c.call.redaction });
  if (chain.testResults?.redaction !== undefined) out.push({ file: 'test-results.json', ref: null, summary: chain.testResults.redaction });
  return out;
}

/**
 * Verifies a bundle, rebuilds its chain, checks it and builds its timeline.
 * A bundle that fails verification still gets its chain and timeline.
 *
 * @throws {VerifierError} BUNDLE_NOT_FOUND, BUNDLE_NOT_DIRECTORY, BUNDLE_UNREADABLE,
 *   TRUSTED_KEY_INVALID or EXPECTED_KEY_ID_INVALID, from {@link verifyBundle}.
 */
export async function replayBundle(dir: string, options: VerifyBundleOptions = {}): Promise<ReplayReport> {
  const verification = await verifyBundle(dir, options);
  const files = await readBundleForReplay(dir);
  // Patterns, and the PR provider's token when this process holds one.
  return buildReplayReport(assembleChain(files), verification, createRedactor({ knownValues: secretsFromEnvironment(process.env) }));
}
