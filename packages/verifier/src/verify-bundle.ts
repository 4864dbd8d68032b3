import { lstat, readdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Dirent } from 'node:fs';
import { VerifierError } from './errors.js';
import { parsePins } from './checks/signature.js';
import { CHECKS } from './checks/table.js';
import { CHECK_NAMES } from './checks/types.js';
import type { BundleContext, CheckName } from './checks/types.js';

export { CHECK_NAMES } from './checks/types.js';
export type { CheckCode, CheckName } from './checks/types.js';

export interface VerificationCheck {
  name: string;
  ok: boolean;
  code?: string;
  detail?: string;
}

/** The outcome of {@link verifyBundle}: each check by name, and `valid` only when all pass. */
export interface VerificationReport {
  valid: boolean;
  dir: string;
  runId?: string;
  mode?: string;
  keyId?: string;
  /**
   * Lowercase hex SHA-256 of the manifest.json bytes these checks judged, when it
   * could be read. A consumer that reads the bundle again (replay) compares it to
   * bind what it shows to what was verified.
   */
  manifestSha256?: string;
  signerPinned: boolean;
  checks: VerificationCheck[];
}

export interface VerifyBundleOptions {
  /** SPKI PEM of the key the bundle must be signed by. */
  trustedPublicKeyPem?: string | undefined;
  /** `sha256:<hex>` key id the bundle's signer must have. */
  expectKeyId?: string | undefined;
}

const MAX_ENTRIES = 10_000;

/**
 * Verifies an evidence bundle directory offline: strict canonical manifest,
 * supported schema, RFC 8032 signature, key id, optional signer pin, DSSE
 * envelope, required artifacts, sizes and SHA-256 digests (one streaming pass
 * per file, constant memory), no unaccounted entries, and the mode's rules.
 * Bad evidence is reported in the checks, never thrown. The checks are the rows
 * of checks/table.ts, one module per family (ADR 0036).
 *
 * @throws {VerifierError} BUNDLE_NOT_FOUND, BUNDLE_NOT_DIRECTORY or BUNDLE_UNREADABLE
 *   when `dir` cannot be read as a directory; TRUSTED_KEY_INVALID (malformed or small-order) or
 *   EXPECTED_KEY_ID_INVALID when a pin given in `opts` is itself malformed.
 */
export async function verifyBundle(dir: string, opts: VerifyBundleOptions = {}): Promise<VerificationReport> {
  const pin = parsePins(opts);
  const root = resolve(dir);
  const ctx: BundleContext = { root, entries: await listBundle(root), pin };
  const outcomes = new Map<CheckName, VerificationCheck>();
  for (const check of CHECKS) {
    outcomes.set(check.name, { name: check.name, ...(await check.run(ctx)) });
  }
  const checks = CHECK_NAMES.map((name) => outcomes.get(name) ?? { name, ok: false, code: 'CHECK_SKIPPED', detail: 'not run' });
  // Field order is fixed so that --json output reads the same for every bundle.
  return {
    valid: checks.every((c) => c.ok),
    dir: root,
    ...(ctx.manifest !== undefined && { runId: ctx.manifest.runId, mode: ctx.manifest.mode }),
    ...(ctx.bundleKeyId !== undefined && { keyId: ctx.bundleKeyId }),
    ...(ctx.manifestSha256 !== undefined && { manifestSha256: ctx.manifestSha256 }),
    signerPinned: pin.pinned,
    checks,
  };
}

async function listBundle(root: string): Promise<Dirent[]> {
  let stat;
  try {
    stat = await lstat(root);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new VerifierError('BUNDLE_NOT_FOUND', `bundle directory ${root} does not exist`, { cause });
    throw new VerifierError('BUNDLE_UNREADABLE', `cannot inspect ${root} (${code ?? 'error'})`, { cause });
  }
  if (!stat.isDirectory()) {
    const what = stat.isSymbolicLink() ? 'a symbolic link' : 'not a directory';
    throw new VerifierError('BUNDLE_NOT_DIRECTORY', `${root} is ${what}`);
  }
  try {
    const entries = await readdir(root, { withFileTypes: true });
    return entries.length > MAX_ENTRIES ? entries.slice(0, MAX_ENTRIES + 1) : entries;
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new VerifierError('BUNDLE_UNREADABLE', `cannot list ${root} (${code ?? 'error'})`, { cause });
  }
}
