import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKeyPem, parseSigningKeyPem, writeBundle } from '@lumenflow/verifier';
import { REPLAY_PAGE_CSP } from '@lumenflow/replay';
import type { ChainCheck } from '@lumenflow/replay';
import { REPO_ROOT, runCli, startServeCli, startServing } from './helpers/cli.js';
import { makeHappyRun, makePolicyBlockedRun, makeTempRoot, testSigningKey, toArtifacts, writeRunBundle } from './helpers/records.js';
import type { RunRecords } from './helpers/records.js';

let root: string;
let cleanup: () => Promise<void>;
let happyDir: string;
let blockedDir: string;
let n = 0;

/** Writes a run under a fresh run id, so each case gets its own signed bundle. */
async function bundleOf(run: RunRecords): Promise<string> {
  n += 1;
  return writeRunBundle(run, join(root, `case-${n}`));
}

beforeAll(async () => {
  ({ root, cleanup } = await makeTempRoot());
  happyDir = await bundleOf(makeHappyRun());
  blockedDir = await bundleOf(makePolicyBlockedRun());
});
afterAll(async () => cleanup());

const failedChainCodes = (stdout: string): string[] =>
  (JSON.parse(stdout) as { chainChecks: ChainCheck[] }).chainChecks.filter((c) => !c.ok).map((c) => c.code);

describe('--replay in the terminal', () => {
  it('a valid happy bundle: exit 0, verdict first, signer plainly not pinned, one line per event', async () => {
    const result = await runCli(['--replay', happyDir]);
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(/^VALID {2}run run_0001 \(happy\)/);
    expect(lines[0]).toContain('signer NOT pinned');
    expect(result.stdout).toMatch(/Timeline \(17 events\)/);
    expect(result.stdout).toMatch(/Tool call\s+fs\.write: write src\/calc\.js/);
    expect(result.stderr).toBe('');
  });

  it('a valid policy-blocked bundle: exit 0, the deny and its rule in the timeline', async () => {
    const result = await runCli(['--replay', blockedDir]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Rules\s+cloud rules: secret\.write production\/DATABASE_URL, rule rules\.secrets\.production-deny\s+deny/);
  });

  it('pinning the right key id says the signer is pinned', async () => {
    const result = await runCli(['--replay', happyDir, '--expect-key-id', testSigningKey().keyId]);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('NOT PINNED');
    expect(result.stdout).toMatch(/signer: sha256:[0-9a-f]{64}, pinned/);
  });

  it('a bundle signed by another key than the pinned one: exit 1, INVALID first, timeline still shown', async () => {
    const pin = join(root, 'other.pem');
    await writeFile(pin, parseSigningKeyPem(generateSigningKeyPem()).publicKeyPem);
    const result = await runCli(['--replay', happyDir, '--trusted-key', pin]);
    expect(result.code).toBe(1);
    expect(result.stdout.split('\n')[0]).toMatch(/^INVALID/);
    expect(result.stdout).toContain('SIGNER_UNTRUSTED');
    expect(result.stdout).toMatch(/Timeline \(17 events\)/);
  });

  it('a file edited after signing: exit 1, INVALID, timeline still shown', async () => {
    const dir = await bundleOf(makeHappyRun());
    await writeFile(join(dir, 'file-diff.patch'), (await readFile(join(dir, 'file-diff.patch'), 'utf8')).replace('a + b', 'a * b'));
    const result = await runCli(['--replay', dir, '--json']);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as { verdict: string; verification: { valid: boolean }; timeline: unknown[] };
    expect(report.verdict).toBe('INVALID');
    expect(report.verification.valid).toBe(false);
    expect(report.timeline.length).toBeGreaterThan(10);
    // The shown diff is not the signed one, and it no longer matches the approval.
    expect(failedChainCodes(result.stdout)).toEqual(['RECORD_INVALID', 'APPROVAL_HASH_MISMATCH']);
  });

  it('a diff edited and re-signed with the same key: signature valid, APPROVAL_HASH_MISMATCH, exit 1', async () => {
    const run = makeHappyRun();
    run.diff = run.diff.replace('a + b', 'a + b + 1');
    const result = await runCli(['--replay', await bundleOf(run), '--json']);
    expect(result.code).toBe(1);
    expect((JSON.parse(result.stdout) as { verification: { valid: boolean } }).verification.valid).toBe(true);
    expect(failedChainCodes(result.stdout)).toEqual(['APPROVAL_HASH_MISMATCH']);
  });

  it('a tool call whose decision is a deny, re-signed: TOOL_CALL_WITHOUT_ALLOW, exit 1', async () => {
    const run = makeHappyRun();
    run.decisions[4]!.effect = 'deny';
    const result = await runCli(['--replay', await bundleOf(run), '--json']);
    expect(result.code).toBe(1);
    expect(failedChainCodes(result.stdout)).toContain('TOOL_CALL_WITHOUT_ALLOW');
    expect(failedChainCodes(result.stdout)).toContain('TOOL_CALL_AFTER_HALT');
  });

  it('swapped ids, re-signed: ID_MISMATCH and the timeline marks the record', async () => {
    const run = makeHappyRun();
    run.toolCalls[1]!.sessionId = 'sess_9999';
    const result = await runCli(['--replay', await bundleOf(run)]);
    expect(result.code).toBe(1);
    expect(result.stdout.split('\n')[0]).toMatch(/^INVALID/);
    expect(result.stdout).toMatch(/✗ chain {2}ID_MISMATCH/);
    expect(result.stdout).toMatch(/fs\.write: write src\/calc\.js.*✗ ID_MISMATCH/);
  });

  it('a record that is not JSON, re-signed: RECORD_INVALID, exit 1, the rest still shown', async () => {
    const run = makeHappyRun();
    const artifacts = { ...toArtifacts(run), 'ask.json': '{"askId": ' };
    const written = await writeBundle({ outDir: join(root, 'garbage'), runId: run.runId, mode: run.mode, createdAt: run.createdAt, artifacts, signingKey: testSigningKey() });
    const result = await runCli(['--replay', written.dir, '--json']);
    expect(result.code).toBe(1);
    expect(failedChainCodes(result.stdout)).toContain('RECORD_INVALID');
    expect((JSON.parse(result.stdout) as { timeline: unknown[] }).timeline.length).toBeGreaterThan(10);
  });

  it('terminal control sequences from the bundle are shown, not interpreted', async () => {
    const run = makeHappyRun();
    run.toolCalls[0]!.inputSummary = 'read \u001b[2J\u001b[32mVALID\u001b[0m';
    const result = await runCli(['--replay', await bundleOf(run)]);
    expect(result.stdout).not.toContain('\u001b');
    expect(result.stdout).toContain('\\u{1b}[2J');
  });

  it('a missing bundle: exit 2 with one error line and no stack trace', async () => {
    const result = await runCli(['--replay', join(root, 'does-not-exist')]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^error BUNDLE_NOT_FOUND: [^\n]+\n$/);
  });

  it('an empty directory: exit 2 BUNDLE_UNREADABLE', async () => {
    const empty = join(root, 'empty');
    await mkdir(empty);
    const result = await runCli(['--replay', empty]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error BUNDLE_UNREADABLE: [^\n]+\n$/);
  });

  it('--port without --serve is a usage error', async () => {
    const result = await runCli(['--replay', happyDir, '--port', '0']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error USAGE: /);
  });
});

describe('--replay --html', () => {
  it('writes one self-contained page with a strict CSP and escaped bundle text', async () => {
    const run = makeHappyRun();
    run.toolCalls[1]!.inputSummary = '</code><script>alert("x")</script><img src=x onerror=alert(1)>';
    run.ask.operator.displayName = '"><iframe src="https://evil.example/">';
    const dir = await bundleOf(run);
    const file = join(root, 'page.html');
    const result = await runCli(['--replay', dir, '--html', file]);
    expect(result.code).toBe(0);
    const html = await readFile(file, 'utf8');
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="${REPLAY_PAGE_CSP.replaceAll("'", '&#39;')}">`);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<iframe/i);
    expect(html).not.toMatch(/<img/i);
    expect(html).not.toMatch(/(?:src|href)=["']?https?:/i);
    expect(html).toContain('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;');
    expect(html).toContain('data-testid="verdict">VALID<');
  });

  it('an unwritable --html target: exit 2 HTML_WRITE_FAILED', async () => {
    const result = await runCli(['--replay', happyDir, '--html', join(root, 'no', 'such', 'dir', 'page.html')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error HTML_WRITE_FAILED: /m);
  });
});

describe('--replay --serve', () => {
  it('serves the page on 127.0.0.1, redirects /, refuses foreign hosts, and stops on SIGINT', async () => {
    const { url, child, exited } = await startServeCli(['--replay', happyDir, '--serve', '--port', '0']);
    try {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/runs\/run_0001$/);
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toContain("script-src 'none'");
      expect(await page.text()).toContain('data-testid="run-id">run_0001<');
      const origin = new URL(url).origin;
      const home = await fetch(`${origin}/`, { redirect: 'manual' });
      expect(home.status).toBe(302);
      expect(home.headers.get('location')).toBe('/runs/run_0001');
      expect((await fetch(`${origin}/runs/other`)).status).toBe(404);
      const { request } = await import('node:http');
      const status = await new Promise<number | undefined>((done, fail) => {
        const req = request(url, { headers: { host: 'evil.example' } }, (res) => {
          res.resume();
          done(res.statusCode);
        });
        req.on('error', fail);
        req.end();
      });
      expect(status).toBe(421);
    } finally {
      child.kill('SIGINT');
    }
    const result = await exited;
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Replay server stopped.');
  });

  // A wrapper that dies without passing the signal on must not leave a server
  // listening: `pnpm` stops its `sh -c`, not the node below it.
  const stopsListening = async (url: string): Promise<boolean> => {
    for (let i = 0; i < 100; i++) {
      const refused = await fetch(url).then(
        () => false,
        () => true,
      );
      if (refused) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  };

  it('started through pnpm, it stops listening when pnpm gets SIGTERM', async () => {
    const { url, child, exited } = await startServing('pnpm', ['--silent', 'demo:trusted-compute', '--replay', happyDir, '--serve', '--port', '0']);
    expect((await fetch(url)).status).toBe(200);
    child.kill('SIGTERM');
    await exited;
    expect(await stopsListening(url), `${url} still answers after pnpm was stopped`).toBe(true);
  });

  it('orphaned by a shell that died without passing SIGTERM on, it stops listening', async () => {
    const launcher = join(REPO_ROOT, 'scripts/demo/launch.mjs');
    // `& wait`: the shell cannot exec node, so its SIGTERM never reaches the server.
    const script = `"${process.execPath}" "${launcher}" --replay "${happyDir}" --serve --port 0 & wait`;
    const { url, child, exited } = await startServing('sh', ['-c', script]);
    expect((await fetch(url)).status).toBe(200);
    child.kill('SIGTERM');
    await exited;
    expect(await stopsListening(url), `${url} still answers after its parent shell died`).toBe(true);
  });
});

describe('the browser tests without Chromium', () => {
  it('say why they are skipped, where a vitest run shows it', async () => {
    const { spawnSync } = await import('node:child_process');
    const vitest = join(REPO_ROOT, 'node_modules/.bin/vitest');
    const env = { ...process.env, CI: '', LUMENFLOW_CHROMIUM: '/nonexistent/chromium', NO_COLOR: '1' };
    const result = spawnSync(vitest, ['run', 'packages/replay/test/replay-browser.test.ts'], { cwd: REPO_ROOT, env, encoding: 'utf8', timeout: 60_000 });
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout + result.stderr).toContain('SKIPPED the Replay browser tests: /nonexistent/chromium is missing; install Debian');
  });
});
