import type { VerificationReport } from './verify-bundle.js';

/** Renders a report for people: one line per check, the verdict, and whether the signer was pinned. */
export function formatVerificationReport(report: VerificationReport): string {
  const lines: string[] = [];
  lines.push(`Proof bundle: ${report.dir}`);
  if (report.runId !== undefined) lines.push(`  run:    ${report.runId}${report.mode !== undefined ? ` (${report.mode})` : ''}`);
  if (report.keyId !== undefined) lines.push(`  signer: ${report.keyId}`);
  lines.push('');
  const width = Math.max(...report.checks.map((c) => c.name.length));
  for (const check of report.checks) {
    const mark = check.ok ? 'PASS' : 'FAIL';
    const code = check.code !== undefined ? ` [${check.code}]` : '';
    const detail = check.detail !== undefined ? `  ${check.detail}` : '';
    lines.push(`  ${mark}  ${check.name.padEnd(width)}${code}${detail}`.trimEnd());
  }
  lines.push('');
  if (!report.valid) {
    const failed = report.checks.filter((c) => !c.ok).length;
    lines.push(`INVALID: ${failed} check${failed === 1 ? '' : 's'} failed.`);
  } else if (report.signerPinned) {
    lines.push('VALID: every check passed and the signer matches the pinned key.');
  } else {
    lines.push('VALID, but the signer is NOT pinned: this only shows the bundle agrees with itself.');
    lines.push('Anyone who edits it can re-sign with their own key. Pin with --trusted-key <pem> or --expect-key-id <id>.');
  }
  return `${lines.join('\n')}\n`;
}
