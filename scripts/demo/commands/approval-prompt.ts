// `--approve prompt`: asks a person at the terminal. The person approves the
// diff and the PR text, so both are shown before the question, not just their
// hashes; the request binds their exact bytes.
import type { ApprovalAnswer, ApprovalRequest, ApprovalSubject } from '@lumenflow/cloud';
import { CliError, EXIT } from '../cli-error.js';

/** Lines of each text shown before the question; the rest is counted, never silently dropped. */
export const PROMPT_MAX_LINES = { diff: 200, prText: 80 } as const;

/**
 * Asks at the terminal. Ctrl-C and end of input (Ctrl-D) both abort the run
 * through `controller`, so the CLI exits 130 and writes no bundle; answering
 * anything but y/yes rejects.
 */
export async function promptApproval(
  request: ApprovalRequest,
  subject: ApprovalSubject,
  write: (text: string) => void,
  controller: AbortController,
): Promise<ApprovalAnswer> {
  write(formatApprovalPrompt(request, subject));
  // Loaded when a person is asked, not at every start.
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  let settled = false;
  // In a terminal, readline takes Ctrl-C itself; it must still interrupt the run.
  rl.on('SIGINT', () => controller.abort(new CliError('INTERRUPTED', 'interrupted at the approval prompt; no bundle was written', EXIT.interrupted)));
  // End of input is no answer: nobody approved and nobody gave an identity to reject under.
  rl.on('close', () => {
    if (!settled) controller.abort(new CliError('INTERRUPTED', 'end of input at the approval prompt (no answer); no bundle was written', EXIT.interrupted));
  });
  const ask = (question: string): Promise<string> => rl.question(question, { signal: controller.signal });
  try {
    const approver = (await ask('  Your id (approver): ')).trim();
    const yes = /^y(es)?$/i.test((await ask('  Approve opening this pull request? [y/N] ')).trim());
    const reason = (await ask('  Reason: ')).trim() || (yes ? 'Approved at the terminal.' : 'Rejected at the terminal.');
    return { approver, decision: yes ? 'approved' : 'rejected', reason };
  } finally {
    settled = true;
    rl.close();
  }
}

/** The text shown before the question: the action, the diff and the PR text, made safe for a terminal. */
export function formatApprovalPrompt(request: ApprovalRequest, subject: ApprovalSubject): string {
  const { action } = request;
  return [
    `  Approval ${request.approvalId}: ${action.kind} ${action.repository} ${action.head} -> ${action.base}`,
    `  requested by ${request.requestedBy}, expires ${request.expiresAt}`,
    '',
    `  ── diff (file-diff.patch, ${request.diffSha256}) ──`,
    ...excerpt(subject.diff, PROMPT_MAX_LINES.diff),
    `  ── PR text (pr-summary.md, ${request.prTextSha256}) ──`,
    ...excerpt(subject.prText, PROMPT_MAX_LINES.prText),
    '',
  ].join('\n');
}

function excerpt(text: string, maxLines: number): string[] {
  if (text === '') return ['  (empty)'];
  const lines = text.replace(/\n$/, '').split('\n');
  const shown = lines.slice(0, maxLines).map((line) => `  ${toTerminalSafe(line)}`);
  const hidden = lines.length - shown.length;
  if (hidden > 0) shown.push(`  … ${hidden} more ${hidden === 1 ? 'line' : 'lines'} not shown (${lines.length} in all); the bundle keeps the whole text`);
  return shown;
}

// The diff and the PR text come from the agent's work: escape sequences in them
// could repaint the terminal and hide what is being approved, and bidi
// controls could reorder what is read. Each control and format character but
// tab is shown as a visible \u{…}.
const UNSAFE = /(?![\t\n])[\p{Cc}\p{Cf}\u2028\u2029]/gu;

/** Replaces control, bidi and invisible characters with a visible `\u{…}` escape. */
export function toTerminalSafe(line: string): string {
  return line.replace(UNSAFE, (c) => `\\u{${c.codePointAt(0)?.toString(16) ?? ''}}`);
}
