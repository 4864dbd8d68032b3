// The Replay page in real headless Chromium (Debian's package, which .ci/run
// installs). Outside CI a missing browser skips with a visible reason; with
// CI=true it fails, so the browser check can never silently vanish from CI.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { REPO_ROOT, runCli, startServeCli } from './helpers/cli.js';
import { makeHappyRun, makeTempRoot, writeRunBundle } from './helpers/records.js';

// LUMENFLOW_CHROMIUM points elsewhere only to test this file's own skip notice.
const CHROMIUM = process.env['LUMENFLOW_CHROMIUM'] || '/usr/bin/chromium';
const IN_CI = process.env['CI'] === 'true';
const MISSING = !existsSync(CHROMIUM);
const SHOTS = join(REPO_ROOT, 'test-artifacts', 'replay');
const SKIP_REASON = `${CHROMIUM} is missing; install Debian's chromium (apt-get install chromium) to run them`;
const title = MISSING && !IN_CI ? `Replay page in headless Chromium (SKIPPED: ${SKIP_REASON})` : 'Replay page in headless Chromium';
// vitest's summary names no skipped title, so the reason goes to stderr, which it shows with the file's name.
if (MISSING && !IN_CI) console.warn(`SKIPPED the Replay browser tests: ${SKIP_REASON}.`);

let root: string;
let cleanup: () => Promise<void>;
let browser: Browser | undefined;

async function openPage(url: string): Promise<{ page: Page; requests: string[] }> {
  if (browser === undefined) throw new Error('browser not launched');
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const requests: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  await page.goto(url);
  return { page, requests };
}

describe.skipIf(MISSING && !IN_CI)(title, () => {
  beforeAll(async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} must exist when CI=true`).toBe(true);
    ({ root, cleanup } = await makeTempRoot());
    await mkdir(SHOTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await cleanup?.();
  });

  it('shows the run id and verdict, opens a tool call to its decision, and takes a screenshot', async () => {
    const dir = await writeRunBundle(makeHappyRun(), join(root, 'happy'));
    const { url, child, exited } = await startServeCli(['--replay', dir, '--serve', '--port', '0']);
    try {
      const { page, requests } = await openPage(url);
      await expect.poll(() => page.getByTestId('run-id').textContent()).toBe('run_0001');
      expect(await page.getByTestId('verdict').textContent()).toBe('VALID');
      expect(await page.getByTestId('signer').getAttribute('data-pinned')).toBe('false');
      // The inline stylesheet only applies if the CSP hash is right.
      // The tsconfig has no DOM lib; this callback runs in the page, where getComputedStyle exists.
      const background = await page
        .locator('header.verdict')
        .evaluate((el) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(el).backgroundColor);
      expect(background).toBe('rgb(26, 127, 55)');

      expect(await page.getByTestId('timeline-event').count()).toBe(17);
      expect(await page.getByTestId('policy-decision').count()).toBe(7);

      const call = page.locator('[data-testid="tool-call"][data-tool-call-id="tc_0002"]');
      const decision = call.getByTestId('tool-call-decision');
      expect(await decision.isVisible()).toBe(false);
      await call.locator('summary').click();
      await decision.waitFor({ state: 'visible' });
      expect(await decision.getByTestId('decision-effect').textContent()).toBe('allow');
      expect(await decision.getByTestId('decision-rule').textContent()).toBe('rules.fs.write');
      expect(await decision.textContent()).toContain('dec_0005');

      await page.screenshot({ path: join(SHOTS, 'happy.png'), fullPage: true });
      expect(requests.every((r) => r.startsWith(new URL(url).origin))).toBe(true);
      await page.close();
    } finally {
      child.kill('SIGINT');
    }
    expect((await exited).code).toBe(0);
  });

  it('shows INVALID and flags the finding when the approved diff was swapped and re-signed', async () => {
    const run = makeHappyRun();
    run.diff = run.diff.replace('a + b', 'a + b + 1');
    const dir = await writeRunBundle(run, join(root, 'tampered'));
    const { url, child, exited } = await startServeCli(['--replay', dir, '--serve', '--port', '0']);
    try {
      const { page } = await openPage(url);
      expect(await page.getByTestId('verdict').textContent()).toBe('INVALID');
      const check = page.locator('[data-testid="chain-check"][data-code="APPROVAL_HASH_MISMATCH"]');
      expect(await check.getAttribute('data-ok')).toBe('false');
      expect(await check.isVisible()).toBe(true);
      await page.screenshot({ path: join(SHOTS, 'invalid.png'), fullPage: true });
      await page.close();
    } finally {
      child.kill('SIGINT');
    }
    expect((await exited).code).toBe(1);
  });

  it('serves a real chain bundle (the golden happy run) and opens its write_file call to the runtime allow', async () => {
    const { url, child, exited } = await startServeCli(['--replay', join(REPO_ROOT, 'test', 'golden', 'happy'), '--serve', '--port', '0']);
    try {
      const { page } = await openPage(url);
      expect(await page.getByTestId('run-id').textContent()).toBe('golden-happy');
      expect(await page.getByTestId('verdict').textContent()).toBe('VALID');
      const call = page.locator('[data-testid="tool-call"][data-tool-call-id="call_0003"]');
      await call.locator('summary').click();
      const decision = call.getByTestId('tool-call-decision');
      await decision.waitFor({ state: 'visible' });
      expect(await decision.getByTestId('decision-effect').textContent()).toBe('allow');
      expect(await decision.textContent()).toContain('rdec_0003');
      await page.screenshot({ path: join(SHOTS, 'golden-happy.png'), fullPage: true });
      await page.close();
    } finally {
      child.kill('SIGINT');
    }
    expect((await exited).code).toBe(0);
  });

  it('the --html file works offline from file:// with no request beyond itself', async () => {
    const dir = await writeRunBundle(makeHappyRun(), join(root, 'offline'));
    const file = join(root, 'replay.html');
    expect((await runCli(['--replay', dir, '--html', file])).code).toBe(0);
    const { page, requests } = await openPage(pathToFileURL(file).href);
    expect(await page.getByTestId('verdict').textContent()).toBe('VALID');
    expect(await page.getByTestId('run-id').textContent()).toBe('run_0001');
    expect(requests).toEqual([pathToFileURL(file).href]);
    await page.close();
  });
});
