import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

/** Flushes a directory's entries, so a file created, linked or renamed into it survives a crash. */
export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Creates `path` and any missing parents, like `mkdir -p`, in at most one
 * step per path component. Node's own `mkdir({ recursive: true })` can spin
 * for ever where a parent refuses new entries with ENOENT (`/proc/nope` loops
 * between ENOENT and EEXIST at 100% CPU); here such a path fails at once
 * with the error that `mkdir` gave.
 *
 * @throws the `mkdir` or `stat` error (ENOENT, EACCES, ENOTDIR, EROFS, …).
 */
export async function makeDirectories(path: string, mode = 0o777): Promise<void> {
  const missing: string[] = [];
  // Walk up to the nearest ancestor that exists: each step drops one component, so this ends at the root.
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    const found = await stat(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (found !== undefined) {
      if (!found.isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${dir}'`), { code: 'ENOTDIR', path: dir });
      break;
    }
    missing.push(dir);
    if (dirname(dir) === dir) break;
  }
  for (const dir of missing.reverse()) {
    try {
      await mkdir(dir, { mode });
    } catch (error) {
      // Made meanwhile by someone else: fine, if it is a directory.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !(await stat(dir)).isDirectory()) throw error;
    }
  }
}

/**
 * Replaces `path` with `data` so that a reader, or a restart after a crash,
 * sees the old file or the new one and never a torn write: temp file, fsync,
 * rename, fsync of the directory. Missing parents are created 0700.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const dir = dirname(path);
  await makeDirectories(dir, 0o700);
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  // O_EXCL: a temp name that already exists belongs to another writer, so it is never reused or removed here.
  const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await handle.close();
  try {
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await fsyncDirectory(dir);
}
