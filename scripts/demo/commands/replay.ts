import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { formatReplayReport, renderReplayHtml, replayBundle, startReplayServer } from '@lumenflow/cloud';
import type { ReplayReport } from '@lumenflow/cloud';
import { VerifierError } from '@lumenflow/verifier';
import type { VerifyBundleOptions } from '@lumenflow/verifier';
import type { CliOptions } from '../options.js';
import { CliError, EXIT } from '../cli-error.js';

// A PEM public key is well under a kilobyte; a larger "pin" is the wrong file.
const MAX_PIN_BYTES = 64 * 1024;

/**
 * `--replay <dir> [--html <file>] [--serve [--port N]]`: verifies the bundle,
 * rebuilds and checks its chain, prints the verdict and the timeline, and
 * optionally writes or serves the Replay page. 0 valid, 1 invalid, 2 usage or unreadable.
 */
export async function runReplayCommand(dir: string, options: CliOptions): Promise<number> {
  if (options.port !== undefined && options.serve !== true) throw new CliError('USAGE', '--port only goes with --serve');
  const verifyOptions: VerifyBundleOptions = {};
  if (options.trustedKey !== undefined) verifyOptions.trustedPublicKeyPem = await readPin(options.trustedKey);
  if (options.expectKeyId !== undefined) verifyOptions.expectKeyId = options.expectKeyId;

  let report: ReplayReport;
  try {
    report = await replayBundle(dir, verifyOptions);
  } catch (error) {
    if (error instanceof VerifierError) throw new CliError(error.code, error.message, EXIT.usage, { cause: error });
    throw error;
  }
  if (!report.readable) throw new CliError('BUNDLE_UNREADABLE', `${dir} holds no readable proof file`, EXIT.usage);

  const code = report.valid ? EXIT.ok : EXIT.invalid;
  if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(formatReplayReport(report, { color: process.stdout.isTTY === true && process.env['NO_COLOR'] === undefined }));

  // Status lines go where they do not spoil --json on stdout.
  const say = (line: string): boolean => (options.json ? process.stderr : process.stdout).write(`${line}\n`);
  const html = options.html !== undefined || options.serve === true ? renderReplayHtml(report) : '';
  if (options.html !== undefined) {
    await writeHtmlAtomically(options.html, html);
    say(`Replay page written to ${options.html}`);
  }
  if (options.serve === true) {
    await serveUntilInterrupted(html, report.runId ?? 'unknown', options.port, say);
  }
  return code;
}

async function serveUntilInterrupted(html: string, runId: string, port: number | undefined, say: (line: string) => boolean): Promise<void> {
  let server;
  try {
    server = await startReplayServer(port === undefined ? { html, runId } : { html, runId, port });
  } catch (cause) {
    const errno = (cause as NodeJS.ErrnoException).code;
    if (errno === 'EADDRINUSE') throw new CliError('PORT_IN_USE', `port ${port ?? 4173} on 127.0.0.1 is taken; pick another with --port (0 picks a free one)`, EXIT.usage, { cause });
    throw new CliError('SERVE_FAILED', `cannot listen on 127.0.0.1 (${errno ?? 'error'})`, EXIT.usage, { cause });
  }
  say(`Replay page: ${server.url}`);
  say('Press Ctrl-C to stop.');
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await server.close();
  say('Replay server stopped.');
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

async function readPin(path: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? 'error';
    throw new CliError('TRUSTED_KEY_UNREADABLE', `cannot read --trusted-key ${path} (${code})`, EXIT.usage, { cause });
  }
  if (bytes.length > MAX_PIN_BYTES) throw new CliError('TRUSTED_KEY_INVALID', `--trusted-key ${path} is too large to be a public key`, EXIT.usage);
  return bytes.toString('utf8');
}
