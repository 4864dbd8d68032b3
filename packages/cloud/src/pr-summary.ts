import type { Ask, TestResults } from '@lumenflow/protocol';
import type { ApprovalRequest } from './approvals.js';

/** Per-file line counts of a unified diff. */
export interface DiffStat {
  files: Array<{ path: string; insertions: number; deletions: number }>;
  insertions: number;
  deletions: number;
}

/** Counts added and removed lines per file of a `git diff` patch (Cloud counts for itself rather than trust a summary). */
export function computeDiffStat(patch: string): DiffStat {
  const files: DiffStat['files'] = [];
  let current: DiffStat['files'][number] | undefined;
  let inHunk = false;
  for (const line of patch.split('\n')) {
    if (line.startsWith('diff --git ')) {
      const match = / b\/(.+)$/.exec(line);
      current = { path: match?.[1] ?? line.slice('diff --git '.length), insertions: 0, deletions: 0 };
      files.push(current);
      inHunk = false;
    } else if (line.startsWith('@@')) {
      inHunk = true;
    } else if (inHunk && current !== undefined) {
      if (line.startsWith('+')) current.insertions++;
      else if (line.startsWith('-')) current.deletions++;
    }
  }
  return {
    files,
    insertions: files.reduce((n, f) => n + f.insertions, 0),
    deletions: files.reduce((n, f) => n + f.deletions, 0),
  };
}

/** The PR title: the Ask's first sentence, trimmed to one line. */
export function derivePrTitle(ask: Ask): string {
  const first = ask.intent.split('\n')[0]?.split(/(?<=\.)\s/)[0]?.trim() ?? '';
  const title = first.replace(/\.$/, '');
  return title.length > 72 ? `${title.slice(0, 71)}…` : title || `Changes for ${ask.askId}`;
}

/** The agent's title (from `finish`) as one line: control characters become spaces; empty falls back to the Ask's. */
export function choosePrTitle(ask: Ask, proposed: string | undefined): string {
  // eslint-disable-next-line no-control-regex
  const line = (proposed ?? '').replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').replace(/\s+/g, ' ').trim();
  return line === '' ? derivePrTitle(ask) : line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

/**
 * The pull request text exactly as the approver sees and approves it: the Ask,
 * the diff stat, the test results and the approval request. The decision itself
 * is recorded in approval.json, because this text is hashed into the request.
 */
export function renderPrSummary(opts: {
  runId: string;
  ask: Ask;
  stat: DiffStat;
  tests: Extract<TestResults, { status: 'completed' }>;
  /** The request's identity and timing; its hashes cover this text, so they cannot appear in it. */
  request: Pick<ApprovalRequest, 'approvalId' | 'action' | 'requestedBy' | 'requestedAt' | 'expiresAt'>;
  /** The title and body the agent proposed at `finish`: the title heads the text, the body is its summary. */
  proposal?: { title: string; body: string } | undefined;
}): string {
  const { ask, stat, tests, request, proposal } = opts;
  const summary = proposal === undefined || proposal.body.trim() === '' ? [] : ['## Summary', '', ...proposal.body.replace(/\r\n?/g, '\n').trimEnd().split('\n'), ''];
  const lines = [
    `# ${choosePrTitle(ask, proposal?.title)}`,
    '',
    `Proposed by LumenFlow for Ask \`${ask.askId}\` from ${ask.operator.displayName} (\`${ask.operator.id}\`), run \`${opts.runId}\`.`,
    `Repository \`${request.action.repository}\`, from \`${request.action.head}\` into \`${request.action.base}\`${request.action.baseCommit === undefined ? '' : ` (base commit \`${request.action.baseCommit}\`)`}.`,
    '',
    ...summary,
    '## Ask',
    '',
    ...ask.intent.split('\n').map((l) => `> ${l}`),
    '',
    '## Changes',
    '',
    '| File | Added | Removed |',
    '| --- | ---: | ---: |',
    ...stat.files.map((f) => `| \`${f.path}\` | ${f.insertions} | ${f.deletions} |`),
    '',
    `${stat.files.length} ${plural(stat.files.length, 'file')} changed, ${stat.insertions} ${plural(stat.insertions, 'insertion')}(+), ${stat.deletions} ${plural(stat.deletions, 'deletion')}(-).`,
    '',
    '## Tests',
    '',
    `\`${tests.command.join(' ')}\` exited ${tests.exitCode}: ${tests.counts.passed} passed, ${tests.counts.failed} failed, ${tests.counts.skipped} skipped (${tests.counts.total} total).`,
    '',
    ...tests.tests.map((t) => `- ${t.status === 'passed' ? '[x]' : '[ ]'} ${t.name} (${t.status})`),
    '',
    '## Approval',
    '',
    `Opening this pull request needs approval \`${request.approvalId}\`, requested by \`${request.requestedBy}\` at ${request.requestedAt}; it expires at ${request.expiresAt}.`,
    'The request is bound to the exact bytes of this text and of file-diff.patch (see actionHash in approval.json).',
    'The pull request is opened only if approval.json records this request as approved; a rejected or expired request opens nothing.',
    '',
  ];
  return `${lines.join('\n')}`;
}

/** The text when no pull request was asked for, saying why. */
export function renderNoPrSummary(opts: { runId: string; ask: Ask; why: string }): string {
  return [
    `# No pull request: ${derivePrTitle(opts.ask)}`,
    '',
    `Ask \`${opts.ask.askId}\` from ${opts.ask.operator.displayName} (\`${opts.ask.operator.id}\`), run \`${opts.runId}\`.`,
    '',
    'No pull request was requested or opened.',
    '',
    `Why: ${opts.why}`,
    '',
    'See policy-decisions.jsonl, tool-calls.jsonl and test-results.json in this bundle for the record.',
    '',
  ].join('\n');
}

function plural(n: number, word: string): string {
  return n === 1 ? word : `${word}s`;
}
