import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { VerifierError, formatVerificationReport, verifyBundle } from '@lumenflow/verifier';
import type { VerifyBundleOptions } from '@lumenflow/verifier';
import type { PinOptions, VerifyOptions } from '../options.js';
import { CliError, EXIT } from '../cli-error.js';

// A PEM public key is well under a kilobyte; a larger "pin" is the wrong file.
const MAX_PIN_BYTES = 64 * 1024;

/** `--verify <dir>`: prints the report (human, or JSON with --json); 0 valid, 1 invalid, 2 usage or I/O. */
export async function runVerifyCommand(dir: string, options: VerifyOptions): Promise<number> {
  const verifyOptions = await readVerifyOptions(options);
  let report;
  try {
    report = await verifyBundle(dir, verifyOptions);
  } catch (error) {
    if (error instanceof VerifierError) throw new CliError(error.code, error.message, EXIT.usage, { cause: error });
    throw error;
  }
  process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatVerificationReport(report));
  return report.valid ? EXIT.ok : EXIT.invalid;
}

/**
 * The key pin of `--trusted-key` and `--expect-key-id`, as `--verify` and `--replay` both pass it to the verifier.
 *
 * @throws {CliError} TRUSTED_KEY_UNREADABLE or TRUSTED_KEY_INVALID (exit 2).
 */
export async function readVerifyOptions(options: PinOptions): Promise<VerifyBundleOptions> {
  const verifyOptions: VerifyBundleOptions = {};
  if (options.trustedKey !== undefined) verifyOptions.trustedPublicKeyPem = await readPin(options.trustedKey);
  if (options.expectKeyId !== undefined) verifyOptions.expectKeyId = options.expectKeyId;
  return verifyOptions;
}

/**
 * Reads a `--trusted-key` file with a size cap. Opened non-blocking and checked
 * with fstat, so a FIFO, a device such as /dev/zero, or a directory is refused
 * instead of hanging the verifier or filling its memory.
 *
 * @throws {CliError} TRUSTED_KEY_UNREADABLE or TRUSTED_KEY_INVALID (exit 2).
 */
async function readPin(path: string): Promise<string> {
  const unreadable = (code: string, cause?: unknown): CliError =>
    new CliError('TRUSTED_KEY_UNREADABLE', `cannot read --trusted-key ${path} (${code})`, EXIT.usage, { cause });
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (cause) {
    throw unreadable((cause as NodeJS.ErrnoException).code ?? 'error', cause);
  }
  try {
    const stat = await handle.stat();
    if (stat.isDirectory()) throw unreadable('EISDIR');
    if (!stat.isFile()) throw new CliError('TRUSTED_KEY_INVALID', `--trusted-key ${path} is not a regular file`, EXIT.usage);
    const buffer = Buffer.alloc(MAX_PIN_BYTES + 1);
    let total = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, total, buffer.length - total, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > MAX_PIN_BYTES) throw new CliError('TRUSTED_KEY_INVALID', `--trusted-key ${path} is too large to be a public key`, EXIT.usage);
    }
    return buffer.subarray(0, total).toString('utf8');
  } catch (cause) {
    if (cause instanceof CliError) throw cause;
    throw unreadable((cause as NodeJS.ErrnoException).code ?? 'error', cause);
  } finally {
    await handle.close();
  }
}
