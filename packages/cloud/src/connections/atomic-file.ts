import { constants } from 'node:fs';
import { open, readdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fsyncDirectory, makeDirectories } from '@lumenflow/verifier';

/** Creates `path` only when it does not exist yet; false when it already did. Same durability as `writeFileAtomic`. */
export async function createFileExclusive(path: string, data: string, mode = 0o600): Promise<boolean> {
  const dir = dirname(path);
  await makeDirectories(dir, 0o700);
  let handle;
  try {
    handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fsyncDirectory(dir);
  return true;
}

/** The `*.json` files of a directory (not temp files), sorted by name; none when it does not exist. */
export async function listJsonFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return names.filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort();
}

/** Reads a file as UTF-8, or undefined when it does not exist. */
export async function readFileIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
