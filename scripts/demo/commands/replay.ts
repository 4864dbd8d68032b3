import { randomBytes } from 'node:crypto';
import { lstat, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { formatReplayReport, renderReplayHtml, replayBundle, startReplayServer } from '@lumenflow/replay';
import type { ReplayReport, ReplayServer } from '@lumenflow/replay';
import { MANIFEST_FILE, VerifierError } from '@lumenflow/verifier';
import type { ReplayOptions } from '../options.js';
import { CliError, EXIT } from '../cli-error.js';
import { readVerifyOptions } from './verify.js';

/**
 * `--replay <dir> [--html <file>] [--serve [--port N]]`: verifies the bundle,
 * rebuilds and checks its chain, prints the verdict and the timeline, and
 * optionally writes or serves the Replay page. 0 valid, 1 invalid, 2 usage or unreadable.
 */
export async function runReplayCommand(dir: string, options: ReplayOptions): Promise<number> {
  if (options.port !== undefined && options.serve !== true) throw new CliError('USAGE', '--port only goes with --serve');
  const verifyOptions = await readVerifyOptions(options);
  // Refuse a page that would land in the evidence before doing any work.
  if (options.html !== undefined) await assertHtmlTargetOutsideBundle(options.html, dir);

  let report: ReplayReport;
  try {
    report = await replayBundle(dir, verifyOptions);
  } catch (error) {
    if (error instanceof VerifierError) throw new CliError(error.code, error.message, EXIT.usage, { cause: error });
    throw error;
  }
  if (!report.readable) throw new CliError('BUNDLE_UNREADABLE', `${dir} holds no readable proof file`, EXIT.usage);

  // Everything that can still fail (writing the page, taking the port) happens
  // before the report is printed, so --json stdout holds exactly one document.
  const status: string[] = [];
  const html = options.html !== undefined || options.serve === true ? renderReplayHtml(report) : '';
  if (options.html !== undefined) {
    await writeHtmlAtomically(options.html, html);
    status.push(`Replay page written to ${options.html}`);
  }
  let server: ReplayServer | undefined;
  if (options.serve === true) {
    server = await startServer(html, report.runId ?? 'unknown', options.port);
    status.push(`Replay page: ${server.url}`, 'Press Ctrl-C to stop.');
  }

  const code = report.valid ? EXIT.ok : EXIT.invalid;
  if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(formatReplayReport(report, { color: process.stdout.isTTY === true && process.env['NO_COLOR'] === undefined }));
  // Status lines go where they do not spoil --json on stdout.
  const say = (line: string): boolean => (options.json ? process.stderr : process.stdout).write(`${line}\n`);
  for (const line of status) say(line);
  if (server !== undefined) await serveUntilInterrupted(server, say);
  return code;
}

async function startServer(html: string, runId: string, port: number | undefined): Promise<ReplayServer> {
  try {
    return await startReplayServer(port === undefined ? { html, runId } : { html, runId, port });
  } catch (cause) {
    const errno = (cause as NodeJS.ErrnoException).code;
    if (errno === 'EADDRINUSE') throw new CliError('PORT_IN_USE', `port ${port ?? 4173} on 127.0.0.1 is taken; pick another with --port (0 picks a free one)`, EXIT.usage, { cause });
    throw new CliError('SERVE_FAILED', `cannot listen on 127.0.0.1 (${errno ?? 'error'})`, EXIT.usage, { cause });
  }
}

// How often a serving process checks that whoever started it is still there.
const PARENT_CHECK_MS = 500;

/**
 * Serves until SIGINT, SIGTERM or SIGHUP, or until the process that started
 * this one is gone. The last one matters when a wrapper dies without passing
 * the signal on (`pnpm` over `sh -c` stops its shell, not the node below it):
 * a server left listening with nobody to stop it is a leak.
 */
async function serveUntilInterrupted(server: ReplayServer, say: (line: string) => boolean): Promise<void> {
  const parent = process.ppid;
  await new Promise<void>((resolve) => {
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
    const watch = setInterval(() => {
      if (process.ppid !== parent) stop();
    }, PARENT_CHECK_MS);
    function stop(): void {
      clearInterval(watch);
      for (const signal of signals) process.off(signal, stop);
      resolve();
    }
    for (const signal of signals) process.on(signal, stop);
  });
  await server.close();
  say('Replay server stopped.');
}

/**
 * Evidence is immutable: the page (and the temporary file it is written through)
 * must never land in the bundle being replayed or in any other bundle directory.
 * A stray file there makes the bundle fail `bundle.entries` for good, and a
 * target named like a proof file would replace evidence.
 */
async function assertHtmlTargetOutsideBundle(file: string, bundleDir: string): Promise<void> {
  const refuse = (why: string): CliError => new CliError('HTML_WRITE_FAILED', `refusing --html ${file}: ${why}`, EXIT.usage);
  const parent = dirname(resolve(file));
  let parentStat;
  try {
    parentStat = await stat(parent);
  } catch {
    return; // the write itself reports a missing directory
  }
  try {
    const bundleStat = await stat(bundleDir);
    if (bundleStat.dev === parentStat.dev && bundleStat.ino === parentStat.ino) throw refuse('it is inside the bundle directory');
  } catch (error) {
    if (error instanceof CliError) throw error;
  }
  try {
    await lstat(join(parent, MANIFEST_FILE));
    throw refuse(`${parent} holds ${MANIFEST_FILE}: it is an evidence bundle`);
  } catch (error) {
    if (error instanceof CliError) throw error;
  }
}

// Written beside the target and renamed, so a reader never opens half a page.
async function writeHtmlAtomically(file: string, html: string): Promise<void> {
  const temp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temp, html, { flag: 'wx', mode: 0o644 });
    await rename(temp, file);
  } catch (cause) {
    await rm(temp, { force: true });
    const errno = (cause as NodeJS.ErrnoException).code ?? 'error';
    throw new CliError('HTML_WRITE_FAILED', `cannot write --html ${file} (${errno})`, EXIT.usage, { cause });
  }
}
