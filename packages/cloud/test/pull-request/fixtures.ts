// Repositories, an approved run and the helpers the pull-request tests share.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApprovalRecord, Ask } from '@lumenflow/protocol';
import { createApprovalRequest } from '../../src/approvals.js';
import { joinPrText } from '../../src/pull-request/pr-text.js';
import { PR_DIFF_FLAGS } from '../../src/pull-request/scratch.js';

export const GIT_ENV = { PATH: process.env['PATH'] ?? '', HOME: tmpdir(), GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@example.test', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@example.test', GIT_AUTHOR_DATE: '2026-01-01T00:00:00Z', GIT_COMMITTER_DATE: '2026-01-01T00:00:00Z' };

export function git(cwd: string, args: string[], input?: string): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8', ...(input === undefined ? {} : { input }) });
}

export interface Origin {
  root: string;
  bare: string;
  baseCommit: string;
  /** The approved change: src/calc.js fixed and a new binary file. */
  patch: string;
}

/** A bare repository `<root>/acme/calc.git` with one commit on main, and a patch against it made the runtime's way. */
export function makeOrigin(): Origin {
  const root = mkdtempSync(join(tmpdir(), 'lf-pr-origin-'));
  const bare = join(root, 'acme', 'calc.git');
  mkdirSync(bare, { recursive: true });
  git(bare, ['init', '--quiet', '--bare', '--initial-branch=main']);
  const work = mkdtempSync(join(tmpdir(), 'lf-pr-work-'));
  git(work, ['init', '--quiet', '--initial-branch=main']);
  mkdirSync(join(work, 'src'));
  writeFileSync(join(work, 'src', 'calc.js'), 'export function add(a, b) {\n  return a - b;\n}\n');
  git(work, ['add', '--all']);
  git(work, ['commit', '--quiet', '-m', 'base']);
  git(work, ['push', '--quiet', bare, 'main']);
  const baseCommit = git(work, ['rev-parse', 'HEAD']).trim();
  writeFileSync(join(work, 'src', 'calc.js'), 'export function add(a, b) {\n  return a + b;\n}\n');
  writeFileSync(join(work, 'logo.bin'), Buffer.from([0, 1, 2, 255, 0, 10, 13, 0, 128, 7]));
  git(work, ['add', '--intent-to-add', 'logo.bin']);
  const patch = git(work, ['diff', ...PR_DIFF_FLAGS, baseCommit]);
  return { root, bare, baseCommit, patch };
}

export const TITLE = 'Fix add so it adds';
export const BODY = 'The agent changed `a - b` to `a + b`.\n\nTests: 2 passed.\n';
export const PR_TEXT = joinPrText({ title: TITLE, body: BODY });

export function makeAsk(extra: Partial<Ask> = {}): Ask {
  return {
    schemaVersion: 1,
    askId: 'ask-1',
    operator: { id: 'op.dana', displayName: 'Dana' },
    intent: 'Fix add.',
    workspace: { repository: 'acme/calc', baseBranch: 'main' },
    requestedScopes: [{ kind: 'pr.create', repository: 'acme/calc', base: 'main' }],
    runtimeLabels: [],
    createdAt: '2026-11-23T10:00:00.000Z',
    ...extra,
  } as Ask;
}

export const REQUESTED_AT = new Date('2026-11-23T10:00:00.000Z');
export const DECIDED_AT = '2026-11-23T10:05:00.000Z';

export function makeApproval(origin: Origin, opts: { status?: 'approved' | 'rejected' | 'expired'; runId?: string; prText?: string } = {}): ApprovalRecord {
  const runId = opts.runId ?? 'run-1';
  const request = createApprovalRequest({
    approvalId: `apr-${runId}`,
    action: { kind: 'pr.create', repository: 'acme/calc', base: 'main', head: `lumenflow/${runId}`, baseCommit: origin.baseCommit },
    diff: origin.patch,
    prText: opts.prText ?? PR_TEXT,
    decisionId: 'cdec_0005',
    requestedBy: 'op.dana',
    requestedAt: REQUESTED_AT,
  });
  const status = opts.status ?? 'approved';
  if (status === 'expired') return { schemaVersion: 1, runId, askId: 'ask-1', status, request, resolution: null };
  return { schemaVersion: 1, runId, askId: 'ask-1', status, request, resolution: { approver: 'rev.ana', decision: status, reason: 'ok', decidedAt: DECIDED_AT } };
}

/** Every process whose argv or environment holds `needle` (this one included). */
export function findInProcesses(needle: string): string[] {
  const hits: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    for (const file of ['cmdline', 'environ']) {
      try {
        if (readFileSync(`/proc/${pid}/${file}`).includes(needle)) hits.push(`${pid}/${file}`);
      } catch {
        // gone, or not ours to read
      }
    }
  }
  return hits;
}

/** The processes that are git children of this one: proof the scan ran while a push was live. */
export function countGitProcesses(): number {
  let n = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (argv[0]?.endsWith('git') || argv[0]?.startsWith('git-remote-http') || argv[0] === 'git-remote-http') n++;
    } catch {
      // gone
    }
  }
  return n;
}
