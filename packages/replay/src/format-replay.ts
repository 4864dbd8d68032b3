import type { ReplayReport } from './replay-report.js';
import type { ChainStep, TimelineEvent } from './types.js';

/** Human names of the chain steps, in the product's nouns. */
export const STEP_LABELS: Readonly<Record<ChainStep, string>> = Object.freeze({
  ask: 'Ask',
  policy: 'Rules',
  dispatch: 'Dispatch',
  tool_call: 'Tool call',
  tests: 'Tests',
  approval_request: 'Approval',
  approval_resolution: 'Approval',
  pr: 'PR',
  proof: 'Proof',
});

/**
 * Makes a bundle-derived string safe for a terminal: control characters
 * (which include ANSI escape sequences) and bidirectional overrides are shown
 * as `\u{…}` instead of being interpreted, so a bundle cannot repaint the
 * verdict or hide text.
 */
export function sanitizeForTerminal(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u{${c.codePointAt(0)?.toString(16) ?? ''}}`);
}

/** Formats a duration for a timeline column: `850ms`, `2.4s`, `3m05s`. */
export function formatDuration(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 0) return `${ms}ms`;
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.floor((ms % 60_000) / 1000);
  return `${minutes}m${String(seconds).padStart(2, '0')}s`;
}

/**
 * Renders a replay report for a terminal: the verdict first, the signer's pin
 * state, every failed check, then one line per timeline event.
 */
export function formatReplayReport(report: ReplayReport, options: { color?: boolean } = {}): string {
  const paint = (code: string, text: string): string => (options.color === true ? `\u001b[${code}m${text}\u001b[0m` : text);
  const s = sanitizeForTerminal;
  const lines: string[] = [];
  const run = report.runId === null ? 'unknown run' : `run ${s(report.runId)}${report.mode === null ? '' : ` (${s(report.mode)})`}`;
  const bundleFailures = report.verification.checks.filter((c) => !c.ok);
  const chainFailures = report.chainChecks.filter((c) => !c.ok);

  const warned = report.warnings.map((w) => `  ⚠ ${s(w)}`).join('');
  if (report.valid) {
    lines.push(paint('1;32', `VALID  ${run}${report.signerPinned ? '' : '  (signer NOT pinned)'}`) + paint('1;33', warned));
  } else {
    lines.push(paint('1;31', `INVALID  ${run}  ✗✗✗ do not trust this run's story ✗✗✗`) + paint('1;33', warned));
  }
  const bundleState = report.verification.valid
    ? `signature and files VALID (${report.verification.checks.length} checks)`
    : `FAILED ${bundleFailures.length} of ${report.verification.checks.length} checks`;
  lines.push(`  bundle: ${bundleState}`);
  lines.push(`  chain:  ${describeChainState(report, chainFailures.length)}`);
  const keyId = report.keyId === null ? 'unknown key' : s(report.keyId);
  if (report.signerPinned) {
    lines.push(`  signer: ${keyId}, pinned`);
  } else {
    lines.push(paint('33', `  signer: ${keyId}, NOT PINNED: this only shows the bundle agrees with itself; pin it with --trusted-key <pem> or --expect-key-id <id>`));
  }
  // The runtime key is the one Cloud enrolled; its receipts show the records came from that machine, not from Cloud alone.
  const receipts = report.verification.checks.find((c) => c.name === 'runtime.receipts');
  const runtimeKey = report.chain.session === null ? 'unknown runtime key' : s(report.chain.session.runtime.keyId);
  const receiptState = receipts === undefined ? 'not checked' : receipts.ok ? `VALID (${s(receipts.detail ?? '')})` : `FAILED ${receipts.code ?? ''}`;
  lines.push(`  runtime: ${runtimeKey}, receipts ${receiptState}`);
  lines.push(`  dir:    ${s(report.dir)}`);

  if (bundleFailures.length > 0 || chainFailures.length > 0) {
    lines.push('', 'Failed checks');
    for (const check of bundleFailures) {
      lines.push(paint('31', `  ✗ bundle ${check.code ?? 'FAILED'}  ${check.name}${check.detail === undefined ? '' : `: ${s(check.detail)}`}`));
    }
    for (const check of chainFailures) {
      lines.push(paint('31', `  ✗ chain  ${check.code}  ${check.name}`));
      for (const finding of check.findings.slice(0, 5)) lines.push(`      ${s(finding.where)}: ${s(finding.message)}`);
      if (check.findings.length > 5) lines.push(`      … and ${check.findings.length - 5} more`);
    }
  }

  lines.push('', `Timeline (${report.timeline.length} events)`);
  if (report.timeline.length === 0) lines.push('  (no readable records)');
  const whatWidth = Math.min(110, Math.max(0, ...report.timeline.map((e) => s(e.what).length)));
  const statusWidth = Math.max(6, ...report.timeline.map((e) => s(e.status).length));
  for (const event of report.timeline) lines.push(formatEvent(event, whatWidth, statusWidth, paint));
  if (report.redactions.length > 0) {
    lines.push('', `Redactions (${report.redactions.length} records; secrets replaced before signing, never in the bundle)`);
    for (const r of report.redactions) {
      lines.push(`  ${s(r.file)}${r.ref === null ? '' : ` ${s(r.ref)}`}: ${r.summary.count} × ${s(r.summary.kinds.join(', '))} in ${s(r.summary.fields.join(', '))}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

// Above an INVALID verdict the chain line must not reassure: records that the
// bundle's checks could not vouch for (a truncated manifest, a bad signature)
// agreeing with each other proves nothing.
function describeChainState(report: ReplayReport, failed: number): string {
  const total = report.chainChecks.length;
  if (failed > 0) return `FAILED ${failed} of ${total} checks`;
  if (!report.verification.valid) return `no inconsistency found by ${total} checks, which proves nothing: the bundle failed, so its records cannot be trusted`;
  return `holds together (${total} checks)`;
}

function formatEvent(event: TimelineEvent, whatWidth: number, statusWidth: number, paint: (code: string, text: string) => string): string {
  const s = sanitizeForTerminal;
  const time = (event.at ?? '').padEnd(24);
  const step = STEP_LABELS[event.step].padEnd(9);
  const what = s(event.what).padEnd(whatWidth);
  const status = s(event.status).padEnd(statusWidth);
  const flag = event.problemCodes.length === 0 ? '' : paint('31', `  ✗ ${event.problemCodes.join(', ')}`);
  return `  ${time}  ${step}  ${what}  ${status}  ${formatDuration(event.durationMs).padStart(7)}${flag}`.trimEnd();
}
