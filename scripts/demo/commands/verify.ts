import { readFile } from 'node:fs/promises';
import { VerifierError, formatVerificationReport, verifyBundle } from '@lumenflow/verifier';
import type { VerifyBundleOptions } from '@lumenflow/verifier';
import type { CliOptions } from '../options.js';
import { CliError, EXIT } from '../cli-error.js';

// A PEM public key is well under a kilobyte; a larger "pin" is the wrong file.
const MAX_PIN_BYTES = 64 * 1024;

/** `--verify <dir>`: prints the report (human, or JSON with --json); 0 valid, 1 invalid, 2 usage or I/O. */
export async function runVerifyCommand(dir: string, options: CliOptions): Promise<number> {
  const verifyOptions: VerifyBundleOptions = {};
  if (options.trustedKey !== undefined) verifyOptions.trustedPublicKeyPem = await readPin(options.trustedKey);
  if (options.expectKeyId !== undefined) verifyOptions.expectKeyId = options.expectKeyId;
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
