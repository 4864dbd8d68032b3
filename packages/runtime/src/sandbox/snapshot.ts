import { createHash } from 'node:crypto';
import { constants as fsConstants, createReadStream } from 'node:fs';
import { access, chmod, copyFile, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { RuntimeError } from '../errors.js';

/** One workspace entry as the attribution step compares it. */
export type SnapshotEntry =
  | { type: 'file'; mode: number; sha256: string }
  | { type: 'dir'; mode: number }
  | { type: 'symlink'; target: string }
  | { type: 'other' };

/** Every path in the workspace (relative, `/`-separated), `.git` and ignored files included. */
export type Snapshot = ReadonlyMap<string, SnapshotEntry>;

/** A path that differs between two snapshots. */
export interface SnapshotChange {
  path: string;
  change: 'added' | 'modified' | 'deleted';
}

/** Entries of one directory read at once by a snapshot. */
const WALK_PARALLEL = 16;

/** Files up to this size are hashed from one read rather than a stream. */
const SMALL_FILE_BYTES = 1024 * 1024;

/** How much of the copies a snapshotter keeps in memory rather than in its blob directory. */
const HELD_BYTES = 32 * 1024 * 1024;

/** Most entries a workspace may hold; past this the attribution step refuses rather than guess. */
export const MAX_SNAPSHOT_ENTRIES = 200_000;

/**
 * The paths that differ between two snapshots, sorted. Pure. A path whose type,
 * permission bits, content or link target differ is `modified`.
 */
export function diffSnapshots(before: Snapshot, after: Snapshot): SnapshotChange[] {
  const changes: SnapshotChange[] = [];
  for (const [path, entry] of before) {
    const now = after.get(path);
    if (now === undefined) changes.push({ path, change: 'deleted' });
    else if (!sameEntry(entry, now)) changes.push({ path, change: 'modified' });
  }
  for (const path of after.keys()) if (!before.has(path)) changes.push({ path, change: 'added' });
  return changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Whether two entries are the same: type, permission bits, content and link target. */
export function sameEntry(a: SnapshotEntry, b: SnapshotEntry): boolean {
  if (a.type !== b.type) return false;
  switch (a.type) {
    case 'file':
      return b.type === 'file' && a.mode === b.mode && a.sha256 === b.sha256;
    case 'dir':
      return b.type === 'dir' && a.mode === b.mode;
    case 'symlink':
      return b.type === 'symlink' && a.target === b.target;
    case 'other':
      return true;
  }
}

/** Takes snapshots of one workspace and puts entries back as a snapshot saw them. */
export interface Snapshotter {
  take(): Promise<Snapshot>;
  /** Makes `path` what `entry` says (or absent, for undefined), never following a link on the way. */
  restore(path: string, entry: SnapshotEntry | undefined): Promise<void>;
  dispose(): Promise<void>;
}

/**
 * A snapshotter whose copies of file contents live in its memory (small files,
 * up to a budget) or in a private directory outside the workspace (and outside
 * the sandbox's view), so that a change can be reverted to the exact bytes.
 * `opts.heldBytes`: the memory budget (default 32 MiB; 0 puts every copy on disk). Unchanged files are not read again: a
 * file whose device, inode, size, mtime and ctime are the same has the same bytes.
 */
export async function createSnapshotter(workspaceDir: string, opts: { heldBytes?: number } = {}): Promise<Snapshotter> {
  const heldBudget = opts.heldBytes ?? HELD_BYTES;
  const blobs = await mkdtemp(join(tmpdir(), 'lumenflow-blobs-'));
  const known = new Map<string, string>();
  const stored = new Set<string>();
  // Copies of small files stay in memory up to a budget; the rest go to the blob directory.
  const held = new Map<string, Buffer>();
  let heldBytes = 0;
  // However wide and deep the walk, at most WALK_PARALLEL files or directories are open at once.
  let active = 0;
  const waiting: Array<() => void> = [];
  const limit = async <T>(work: () => Promise<T>): Promise<T> => {
    while (active >= WALK_PARALLEL) await new Promise<void>((wake) => waiting.push(wake));
    active++;
    try {
      return await work();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };

  const hashFile = async (abs: string, stats: BigIntStats): Promise<string> => {
    const key = `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}`;
    const cached = known.get(key);
    if (cached !== undefined) return cached;
    const sha256 = await limit(async () => {
      // A small file is read once, and its copy written from the same bytes; a large one is streamed, then copied.
      if (stats.size <= SMALL_FILE_BYTES) {
        const bytes = await readFile(abs);
        const digest = createHash('sha256').update(bytes).digest('hex');
        if (!stored.has(digest)) {
          stored.add(digest);
          if (heldBytes + bytes.length <= heldBudget) {
            held.set(digest, bytes);
            heldBytes += bytes.length;
          } else {
            await writeFile(join(blobs, digest), bytes, { flag: 'wx' });
          }
        }
        return digest;
      }
      const hash = createHash('sha256');
      await pipeline(createReadStream(abs, { flags: 'r' }), hash);
      const digest = hash.digest('hex');
      if (!stored.has(digest)) {
        stored.add(digest);
        await copyFile(abs, join(blobs, digest), fsConstants.COPYFILE_FICLONE);
      }
      return digest;
    });
    known.set(key, sha256);
    return sha256;
  };

  const take = async (): Promise<Snapshot> => {
    const entries = new Map<string, SnapshotEntry>();
    // The entries of one directory are read side by side: a walk is mostly waiting on the file system.
    const walk = async (rel: string): Promise<void> => {
      const names = (await limit(() => readdir(rel === '' ? workspaceDir : join(workspaceDir, rel)))).sort();
      if (entries.size + names.length > MAX_SNAPSHOT_ENTRIES) throw new RuntimeError('ATTRIBUTION_FAILED', `the workspace holds more than ${MAX_SNAPSHOT_ENTRIES} entries`);
      const visit = async (name: string): Promise<void> => {
        const path = rel === '' ? name : `${rel}/${name}`;
        const abs = join(workspaceDir, path);
        const stats = await lstat(abs, { bigint: true });
        const mode = Number(stats.mode & 0o7777n);
        if (stats.isSymbolicLink()) entries.set(path, { type: 'symlink', target: await readlink(abs) });
        else if (stats.isDirectory()) {
          entries.set(path, { type: 'dir', mode });
          await walk(path);
        } else if (stats.isFile()) entries.set(path, { type: 'file', mode, sha256: await hashFile(abs, stats) });
        else entries.set(path, { type: 'other' });
      };
      // In slices, so a directory of thousands of files never holds thousands of descriptors at once.
      for (let at = 0; at < names.length; at += WALK_PARALLEL) await Promise.all(names.slice(at, at + WALK_PARALLEL).map(visit));
    };
    await walk('');
    return entries;
  };

  const restore = async (path: string, entry: SnapshotEntry | undefined): Promise<void> => {
    const segments = path.split('/');
    // Every ancestor must be a real directory: a link planted in place of one would carry the restore elsewhere.
    let parent = workspaceDir;
    for (const segment of segments.slice(0, -1)) {
      parent = join(parent, segment);
      const info = await lstat(parent).catch(() => undefined);
      if (info !== undefined && !info.isDirectory()) await rm(parent, { force: true, recursive: true });
      if (info === undefined || !info.isDirectory()) await mkdir(parent, { mode: 0o755 });
    }
    const abs = join(workspaceDir, path);
    const current = await lstat(abs).catch(() => undefined);
    if (entry?.type === 'dir' && current?.isDirectory() === true) {
      await chmod(abs, entry.mode);
      return;
    }
    if (current !== undefined) {
      if (current.isDirectory()) await rm(abs, { recursive: true, force: true });
      else await unlink(abs);
    }
    if (entry === undefined || entry.type === 'other') return;
    if (entry.type === 'dir') {
      await mkdir(abs);
      await chmod(abs, entry.mode);
    } else if (entry.type === 'symlink') {
      await symlink(entry.target, abs);
    } else {
      const bytes = held.get(entry.sha256);
      if (bytes !== undefined) {
        // wx: created here, never through a link someone put in its place.
        await writeFile(abs, bytes, { flag: 'wx' });
      } else {
        const blob = join(blobs, entry.sha256);
        await access(blob);
        await copyFile(blob, abs, fsConstants.COPYFILE_EXCL | fsConstants.COPYFILE_FICLONE);
      }
      await chmod(abs, entry.mode);
    }
  };

  const dispose = async (): Promise<void> => {
    held.clear();
    await rm(blobs, { recursive: true, force: true });
  };
  return { take, restore, dispose };
}
