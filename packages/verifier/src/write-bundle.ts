import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { IdSchema, TimestampSchema, canonicalizeToBytes } from '@lumenflow/protocol';
import {
  BUNDLE_KIND,
  BUNDLE_METADATA_FILES,
  BUNDLE_MODES,
  BUNDLE_SCHEMA_VERSION,
  DSSE_FILE,
  MANIFEST_FILE,
  PUBLIC_KEY_FILE,
  REQUIRED_ARTIFACTS,
  SIGNATURE_FILE,
} from './constants.js';
import type { BundleMode } from './constants.js';
import { buildInTotoStatement, encodeDsseEnvelope } from './dsse.js';
import { fsyncDirectory, makeDirectories } from './durable-file.js';
import { VerifierError } from './errors.js';
import type { SigningKey } from './keys.js';
import { isPlainFileName } from './manifest-schema.js';
import type { Manifest } from './manifest-schema.js';

export interface WriteBundleOptions {
  outDir: string;
  runId: string;
  mode: BundleMode;
  createdAt: string;
  artifacts: Readonly<Record<string, Uint8Array | string>>;
  signingKey: SigningKey;
}

/** Bytes of manifest.json: RFC 8785 canonical JSON, UTF-8, no BOM, no trailing newline. */
export function encodeManifest(manifest: Manifest): Uint8Array {
  return canonicalizeToBytes(manifest);
}

/**
 * Builds a manifest for artifacts already hashed. Artifacts appear in the
 * documented order of {@link REQUIRED_ARTIFACTS}, then any others by name.
 */
export function buildManifest(opts: {
  runId: string;
  mode: BundleMode;
  createdAt: string;
  keyId: string;
  artifacts: ReadonlyArray<{ path: string; sha256: string; size: number }>;
}): Manifest {
  const rank = (name: string): number => {
    const i = REQUIRED_ARTIFACTS.indexOf(name);
    return i === -1 ? REQUIRED_ARTIFACTS.length : i;
  };
  const artifacts = [...opts.artifacts]
    .map((a) => ({ path: a.path, sha256: a.sha256, size: a.size }))
    .sort((a, b) => rank(a.path) - rank(b.path) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return {
    schemaVersion: BUNDLE_SCHEMA_VERSION,
    bundleKind: BUNDLE_KIND,
    runId: opts.runId,
    mode: opts.mode,
    createdAt: opts.createdAt,
    requiredArtifacts: [...REQUIRED_ARTIFACTS],
    artifacts,
    signer: { keyId: opts.keyId, algorithm: 'ed25519' },
  };
}

/**
 * The metadata files that seal a bundle: manifest.json, manifest.sig (raw 64-byte
 * Ed25519 over the manifest bytes), verifier-public-key.pem and manifest.dsse.json.
 */
export function sealManifest(manifest: Manifest, signingKey: SigningKey): Record<string, Uint8Array> {
  const manifestBytes = encodeManifest(manifest);
  const manifestSha256 = createHash('sha256').update(manifestBytes).digest('hex');
  return {
    [MANIFEST_FILE]: manifestBytes,
    [SIGNATURE_FILE]: signingKey.sign(manifestBytes),
    [PUBLIC_KEY_FILE]: new TextEncoder().encode(signingKey.publicKeyPem),
    [DSSE_FILE]: encodeDsseEnvelope(buildInTotoStatement(manifest, MANIFEST_FILE, manifestSha256), signingKey),
  };
}

/**
 * Writes a signed bundle to `<outDir>/<runId>/` atomically: files go to a
 * temporary sibling directory, are fsynced with it, then the directory is
 * renamed into place, so a crash leaves nothing at the final path.
 *
 * @throws {VerifierError} BUNDLE_EXISTS when the run directory exists (evidence
 *   is never overwritten); BUNDLE_INPUT_INVALID for a bad run id, timestamp or
 *   artifact set; BUNDLE_WRITE_FAILED on an I/O error. The temp directory is removed on any failure.
 */
export async function writeBundle(opts: WriteBundleOptions): Promise<{ dir: string; keyId: string }> {
  const files = prepareFiles(opts);
  const outDir = resolve(opts.outDir);
  const finalDir = join(outDir, opts.runId);
  try {
    await makeDirectories(outDir);
  } catch (cause) {
    throw ioError(`cannot create ${outDir}`, cause);
  }
  await refuseExisting(finalDir);

  // A dot-prefixed sibling on the same file system: rename is atomic there,
  // and tools listing run directories skip it.
  const tempDir = join(outDir, `.${opts.runId}.tmp-${randomBytes(6).toString('hex')}`);
  try {
    await mkdir(tempDir, { mode: 0o755 });
  } catch (cause) {
    throw ioError(`cannot create a temporary directory in ${outDir}`, cause);
  }
  try {
    // Side by side: the file system can commit the files' fsyncs together. Every one has
    // settled (none still writing into tempDir) before the rename or the clean-up below.
    const writes = await Promise.allSettled(files.map(([name, bytes]) => writeFileDurably(join(tempDir, name), bytes)));
    const failed = writes.find((w): w is PromiseRejectedResult => w.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    await fsyncDirectory(tempDir);
    await refuseExisting(finalDir);
    try {
      // rename(2) refuses a non-empty target, so a bundle that appeared since the check survives.
      await rename(tempDir, finalDir);
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR') {
        throw new VerifierError('BUNDLE_EXISTS', `run directory ${finalDir} already exists; evidence is never overwritten`, { cause });
      }
      throw cause;
    }
    await fsyncDirectory(outDir);
  } catch (cause) {
    await rm(tempDir, { recursive: true, force: true }).catch(() => undefined);
    if (cause instanceof VerifierError) throw cause;
    throw ioError(`cannot write bundle ${finalDir}`, cause);
  }
  return { dir: finalDir, keyId: opts.signingKey.keyId };
}

function prepareFiles(opts: WriteBundleOptions): Array<[string, Uint8Array]> {
  if (!IdSchema.safeParse(opts.runId).success) {
    throw new VerifierError('BUNDLE_INPUT_INVALID', 'runId must be 1-128 of [A-Za-z0-9._-], starting with a letter or digit');
  }
  if (!TimestampSchema.safeParse(opts.createdAt).success) {
    throw new VerifierError('BUNDLE_INPUT_INVALID', 'createdAt must be an RFC 3339 UTC timestamp');
  }
  if (!BUNDLE_MODES.includes(opts.mode)) {
    throw new VerifierError('BUNDLE_INPUT_INVALID', "mode must be 'happy' or 'policy-blocked'");
  }
  const encoder = new TextEncoder();
  const artifacts: Array<[string, Uint8Array]> = [];
  for (const [name, content] of Object.entries(opts.artifacts)) {
    if (!isPlainFileName(name) || BUNDLE_METADATA_FILES.includes(name)) {
      throw new VerifierError('BUNDLE_INPUT_INVALID', `artifact name ${JSON.stringify(name)} is not a plain, unreserved file name`);
    }
    artifacts.push([name, typeof content === 'string' ? encoder.encode(content) : content]);
  }
  const missing = REQUIRED_ARTIFACTS.filter((name) => !Object.hasOwn(opts.artifacts, name));
  if (missing.length > 0) throw new VerifierError('BUNDLE_INPUT_INVALID', `missing required artifacts: ${missing.join(', ')}`);
  const manifest = buildManifest({
    runId: opts.runId,
    mode: opts.mode,
    createdAt: opts.createdAt,
    keyId: opts.signingKey.keyId,
    artifacts: artifacts.map(([path, bytes]) => ({ path, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length })),
  });
  return [...artifacts, ...Object.entries(sealManifest(manifest, opts.signingKey))];
}

async function refuseExisting(finalDir: string): Promise<void> {
  try {
    await lstat(finalDir);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw ioError(`cannot inspect ${finalDir}`, cause);
  }
  throw new VerifierError('BUNDLE_EXISTS', `run directory ${finalDir} already exists; evidence is never overwritten`);
}

async function writeFileDurably(path: string, bytes: Uint8Array): Promise<void> {
  const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function ioError(message: string, cause: unknown): VerifierError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  return new VerifierError('BUNDLE_WRITE_FAILED', `${message} (${code ?? 'error'})`, { cause });
}
