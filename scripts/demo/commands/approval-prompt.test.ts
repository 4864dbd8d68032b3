import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeThrowawayKeys } from '../../../test/support/demo-chain.js';
import { PROMPT_MAX_LINES, formatApprovalPrompt, toTerminalSafe } from './approval-prompt.js';

const REQUEST = {
  approvalId: 'apr_0001',
  action: { kind: 'pr.create', repository: 'acme/calc', base: 'main', head: 'lumenflow/run-1' },
  diffSha256: `sha256:${'a'.repeat(64)}`,
  prTextSha256: `sha256:${'b'.repeat(64)}`,
  actionHash: `sha256:${'c'.repeat(64)}`,
  decisionId: 'dec_0001',
  requestedBy: 'op.dana',
  requestedAt: '2026-11-23T10:00:00.000Z',
  expiresAt: '2026-11-24T10:00:00.000Z',
} as const;

describe('formatApprovalPrompt', () => {
  it('shows the diff and the PR text themselves, not only their hashes', () => {
    const text = formatApprovalPrompt(REQUEST, { diff: '--- a/x\n+++ b/x\n-  return a - b;\n+  return a + b;\n', prText: '# Fix add\n\nBody.\n' });
    expect(text).toContain('  +  return a + b;');
    expect(text).toContain('  # Fix add');
    expect(text).toContain(REQUEST.diffSha256);
  });

  it('a long diff is cut with a count of what is not shown', () => {
    const diff = Array.from({ length: PROMPT_MAX_LINES.diff + 7 }, (_, i) => `+line ${i}`).join('\n');
    const text = formatApprovalPrompt(REQUEST, { diff, prText: 'x' });
    expect(text).toContain(`+line ${PROMPT_MAX_LINES.diff - 1}`);
    expect(text).not.toContain(`+line ${PROMPT_MAX_LINES.diff}\n`);
    expect(text).toContain(`… 7 more lines not shown (${PROMPT_MAX_LINES.diff + 7} in all)`);
  });

  it('escape sequences and bidi controls from the agent cannot repaint or reorder the terminal', () => {
    const text = formatApprovalPrompt(REQUEST, { diff: '+ok\x1b[2K\x1b[1A\r+evil\u202e', prText: 'a\u200bb' });
    expect(text.replaceAll('\n', '')).not.toMatch(/[\p{Cc}\u202e\u200b]/u);
    expect(text).toContain('+ok\\u{1b}[2K\\u{1b}[1A\\u{d}+evil\\u{202e}');
    expect(toTerminalSafe('tab\there')).toBe('tab\there');
  });
});

// The prompt as a person meets it: the real CLI on a pseudo-terminal (util-linux `script`).
const hasScript = process.platform === 'linux' && spawnSync('script', ['--version']).status === 0;
const ROOT = resolve(import.meta.dirname, '..', '..', '..');

describe.skipIf(!hasScript)('--approve prompt on a terminal', () => {
  let work: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'lumenflow-prompt-'));
    env = { ...process.env, ...(await writeThrowawayKeys(work)), LUMENFLOW_CLOCK: '', NO_COLOR: '1' };
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  /** Runs the CLI under a pty, typing each answer once its question shows. Resolves with the output and the CLI's exit code. */
  function runOnTerminal(runId: string, answers: ReadonlyArray<readonly [question: string, typed: string]>): Promise<{ output: string; code: number }> {
    const cmd = `node_modules/.bin/tsx scripts/demo/trusted-compute.ts --mode happy --approve prompt --out-dir '${join(work, 'out')}' --run-id ${runId}; echo "EXIT=$?"`;
    const child = spawn('script', ['-qefc', cmd, '/dev/null'], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    let next = 0;
    let searchFrom = 0;
    return new Promise((done, fail) => {
      const deadline = setTimeout(() => {
        child.kill('SIGKILL');
        fail(new Error(`no exit within 50 s:\n${output}`));
      }, 50_000);
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const answer = answers[next];
        const at = answer === undefined ? -1 : output.indexOf(answer[0], searchFrom);
        if (answer !== undefined && at !== -1) {
          next++;
          searchFrom = at + answer[0].length;
          child.stdin.write(answer[1]);
        }
      });
      child.on('exit', () => {
        clearTimeout(deadline);
        const code = /EXIT=(\d+)/.exec(output)?.[1];
        if (code === undefined) fail(new Error(`no exit code in:\n${output}`));
        else done({ output, code: Number(code) });
      });
    });
  }

  it('shows the diff and the PR text before asking, and Ctrl-D is an interrupt: exit 130, no bundle', async () => {
    const { output, code } = await runOnTerminal('prompt-eof', [['Your id (approver):', '\x04']]);
    const asked = output.indexOf('Your id (approver):');
    expect(output.indexOf('+  return a + b;')).toBeGreaterThan(-1);
    expect(output.indexOf('+  return a + b;')).toBeLessThan(asked);
    expect(output.indexOf('# Fix the failing test in calc')).toBeLessThan(asked);
    expect(code, output).toBe(130);
    expect(output).toMatch(/error INTERRUPTED: end of input at the approval prompt/);
    expect(output).not.toMatch(/INTERNAL|\n\s+at /);
    await expect(stat(join(work, 'out', 'prompt-eof'))).rejects.toThrow();
  });

  it('an answer typed at the terminal is recorded as given', async () => {
    const { output, code } = await runOnTerminal('prompt-yes', [
      ['Your id (approver):', 'reviewer.kim\r'],
      ['[y/N]', 'yes\r'],
      ['Reason:', 'Looks right.\r'],
    ]);
    expect(code, output).toBe(0);
    const approval = JSON.parse(await readFile(join(work, 'out', 'prompt-yes', 'approval.json'), 'utf8')) as { status: string; resolution: { approver: string; reason: string } };
    expect(approval).toMatchObject({ status: 'approved', resolution: { approver: 'reviewer.kim', reason: 'Looks right.' } });
  });
});
