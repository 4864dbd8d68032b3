import { constants } from 'node:fs';
import { link, mkdir, open, unlink } from 'node:fs/promises';
import { dirname, join, resolve, basename } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fsyncDirectory } from './durable-file.js';
import { VerifierError } from './errors.js';
import { generateSigningKeyPem, parseSigningKeyPem } from './keys.js';
import type { SigningKey } from './keys.js';

/** Environment variable naming a PKCS#8 PEM signing key file. */
export const SIGNING_KEY_ENV = 'LUMENFLOW_SIGNING_KEY';

/** Repo-relative default location of the persistent demo signing key (git-ignored via `.lumenflow/`). */
export const DEFAULT_SIGNING_KEY_PATH = '.lumenflow/keys/demo-signing-key.pem';

// A key file is a few hundred bytes; refusing more keeps a mistaken path (a log, a disk image) cheap.
const MAX_KEY_FILE_BYTES = 16 * 1024;

export interface LoadSigningKeyOptions {
  /** `--signing-key`; undefined or empty means not given. */
  flagPath?: string | undefined;
  /** Environment to read LUMENFLOW_SIGNING_KEY from; defaults to process.env. */
  env?: Record<string, string | undefined> | undefined;
  defaultPath: string;
}

export interface LoadedSigningKey {
  key: SigningKey;
  source: 'flag' | 'env' | 'file' | 'created';
  path: string;
}

/**
 * Finds the signing key: `flagPath`, then `$LUMENFLOW_SIGNING_KEY`, then
 * `defaultPath`, which is created (0600, parent 0700) when missing so that the
 * same key signs every run and a verifier can pin it.
 *
 * @throws {VerifierError} SIGNING_KEY_UNREADABLE, SIGNING_KEY_NOT_FILE,
 *   SIGNING_KEY_PERMISSIONS (group/world-accessible file), SIGNING_KEY_INVALID,
 *   SIGNING_KEY_CREATE_FAILED.
 */
export async function loadOrCreateSigningKey(opts: LoadSigningKeyOptions): Promise<LoadedSigningKey> {
  if (opts.flagPath !== undefined && opts.flagPath !== '') {
    const path = resolve(opts.flagPath);
    return { key: await readSigningKeyFile(path), source: 'flag', path };
  }
  const fromEnv = (opts.env ?? process.env)[SIGNING_KEY_ENV];
  if (fromEnv !== undefined && fromEnv !== '') {
    const path = resolve(fromEnv);
    return { key: await readSigningKeyFile(path), source: 'env', path };
  }
  const path = resolve(opts.defaultPath);
  const existing = await readSigningKeyFile(path, { missingOk: true });
  if (existing) return { key: existing, source: 'file', path };
  const created = await createSigningKeyFile(path);
  return created.raced ? { key: created.key, source: 'file', path } : { key: created.key, source: 'created', path };
}

async function readSigningKeyFile(path: string): Promise<SigningKey>;
async function readSigningKeyFile(path: string, opts: { missingOk: true }): Promise<SigningKey | undefined>;
async function readSigningKeyFile(path: string, opts?: { missingOk: true }): Promise<SigningKey | undefined> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && opts?.missingOk) return undefined;
    if (code === 'ELOOP') throw new VerifierError('SIGNING_KEY_NOT_FILE', `signing key ${path} is a symbolic link`, { cause });
    throw new VerifierError('SIGNING_KEY_UNREADABLE', `cannot open signing key ${path} (${code ?? 'error'})`, { cause });
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new VerifierError('SIGNING_KEY_NOT_FILE', `signing key ${path} is not a regular file`);
    // Like ssh: a private key others can read is already compromised, so refuse to use it.
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
      throw new VerifierError(
        'SIGNING_KEY_PERMISSIONS',
        `signing key ${path} is accessible by group or others (mode ${(stat.mode & 0o777).toString(8)}); run chmod 600 on it`,
      );
    }
    if (stat.size > MAX_KEY_FILE_BYTES) throw new VerifierError('SIGNING_KEY_INVALID', `signing key ${path} is too large to be a key`);
    const buffer = Buffer.alloc(MAX_KEY_FILE_BYTES + 1);
    let total = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, total, buffer.length - total, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > MAX_KEY_FILE_BYTES) throw new VerifierError('SIGNING_KEY_INVALID', `signing key ${path} is too large to be a key`);
    }
    const text = buffer.toString('utf8', 0, total);
    buffer.fill(0);
    try {
      return parseSigningKeyPem(text);
    } catch (cause) {
      if (cause instanceof VerifierError) {
        throw new VerifierError('SIGNING_KEY_INVALID', `signing key ${path} is not an Ed25519 PKCS#8 PEM key`, { cause });
      }
      throw cause;
    }
  } finally {
    await handle.close();
  }
}

async function createSigningKeyFile(path: string): Promise<{ key: SigningKey; raced: boolean }> {
  const dir = dirname(path);
  const pem = generateSigningKeyPem();
  const key = parseSigningKeyPem(pem);
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      await handle.writeFile(pem);
      await handle.sync();
    } finally {
      await handle.close();
    }
    // link() fails when the name exists, so a concurrent first run cannot
    // replace a key another process already handed out; readers never see a half-written key.
    try {
      await link(temp, path);
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'EEXIST') return { key: await readSigningKeyFile(path), raced: true };
      throw cause;
    }
    await fsyncDirectory(dir);
    return { key, raced: false };
  } catch (cause) {
    if (cause instanceof VerifierError) throw cause;
    const code = (cause as NodeJS.ErrnoException).code;
    throw new VerifierError('SIGNING_KEY_CREATE_FAILED', `cannot create signing key at ${path} (${code ?? 'error'})`, { cause });
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}
