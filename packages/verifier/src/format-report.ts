import type { VerificationReport } from './verify-bundle.js';

// Details quote bundle-controlled text (entry names, JSON keys, parser messages).
// A file named with an escape sequence could otherwise conceal the INVALID line
// or repaint the terminal, so control characters and bidi overrides are shown
// as `\u{…}` instead of being sent to the terminal.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE_FOR_TERMINAL = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

function sanitize(text: string): string {
  return text.replace(UNSAFE_FOR_TERMINAL, (c) => `\\u{${c.codePointAt(0)?.toString(16) ?? ''}}`);
}

/** Renders a report for people: one line per check, the verdict, and whether the signer was pinned. Bundle-derived text is escaped. */
export function formatVerificationReport(report: VerificationReport): string {
  const s = sanitize;
  const lines: string[] = [];
  lines.push(`Proof bundle: ${s(report.dir)}`);
  if (report.runId !== undefined) lines.push(`  run:    ${s(report.runId)}${report.mode !== undefined ? ` (${s(report.mode)})` : ''}`);
  if (report.keyId !== undefined) lines.push(`  signer: ${s(report.keyId)}`);
  lines.push('');
  const width = Math.max(...report.checks.map((c) => c.name.length));
  for (const check of report.checks) {
    const mark = check.ok ? 'PASS' : 'FAIL';
    const code = check.code !== undefined ? ` [${s(check.code)}]` : '';
    const detail = check.detail !== undefined ? `  ${s(check.detail)}` : '';
    lines.push(`  ${mark}  ${s(check.name).padEnd(width)}${code}${detail}`.trimEnd());
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
