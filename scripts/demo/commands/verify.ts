import { VerifierError, formatVerificationReport, readFileCapped, verifyBundle } from '@lumenflow/verifier';
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
 * Reads a `--trusted-key` file with a size cap, through the one capped read:
 * a FIFO, a device such as /dev/zero, or a directory is refused instead of
 * hanging the verifier or filling its memory. The operator chose this path,
 * so a symbolic link is followed.
 *
 * @throws {CliError} TRUSTED_KEY_UNREADABLE or TRUSTED_KEY_INVALID (exit 2).
 */
async function readPin(path: string): Promise<string> {
  const read = await readFileCapped(path, MAX_PIN_BYTES, { followLinks: true });
  if (read.ok) return Buffer.from(read.bytes).toString('utf8');
  if (read.reason === 'too-large') throw new CliError('TRUSTED_KEY_INVALID', `--trusted-key ${path} is too large to be a public key`, EXIT.usage);
  if (read.reason === 'not-regular' && read.code !== 'EISDIR') throw new CliError('TRUSTED_KEY_INVALID', `--trusted-key ${path} is not a regular file`, EXIT.usage);
  throw new CliError('TRUSTED_KEY_UNREADABLE', `cannot read --trusted-key ${path} (${read.code ?? read.detail})`, EXIT.usage);
}
