import { constants } from 'node:fs';
import { cp, mkdir, open, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { CloudError } from '../errors.js';
import type { SqlDb, SqlRunner, SqlValue } from './sql.js';
import { isProcessAlive } from '../process-alive.js';

// Loaded when a store opens, not with this module: a bundle of the CLI would otherwise
// load PGlite's WASM glue on every start, also for runs that keep no store (ADR 0020).
async function loadPglite(): Promise<typeof PGlite> {
  return (await import('@electric-sql/pglite')).PGlite;
}

/** Where the embedded database lives under a Cloud data directory, and its lock. */
export function pglitePaths(dataDir: string): { db: string; lock: string } {
  return { db: join(dataDir, 'db'), lock: join(dataDir, 'db.lock') };
}

// PGlite is one Postgres backend inside this process: a second process opening the
// same directory would corrupt it. The lock file names the holder's pid, so a lock
// left by a killed process is recognised and taken over.
async function takeLock(path: string): Promise<() => Promise<void>> {
  for (let tries = 0; tries < 3; tries++) {
    try {
      const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return () => unlink(path).catch(() => undefined);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (Number.isSafeInteger(holder) && holder > 0 && holder !== process.pid && isProcessAlive(holder)) {
      throw new CloudError('DATA_DIR_LOCKED', `${path}: the embedded database is open in process ${holder}; stop it, or give both a --database-url`);
    }
    if (holder === process.pid) throw new CloudError('DATA_DIR_LOCKED', `${path}: the embedded database is already open in this process`);
    await unlink(path).catch(() => undefined);
  }
  throw new CloudError('DATA_DIR_LOCKED', `${path}: cannot take the database lock`);
}

// initdb in WASM takes seconds; a fresh cluster is the same bytes every time, so
// the first one is kept (per user, owner-only) and copied into each new data
// directory. Only an empty cluster is cached: no schema, no state.
function templateDir(): string {
  const base = process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache');
  return join(base, 'lumenflow', `pglite-${PGLITE_CLUSTER_VERSION}`);
}
const PGLITE_CLUSTER_VERSION = '0.5-pg17-1';

async function usableTemplate(dir: string): Promise<boolean> {
  try {
    const info = await stat(dir);
    const uid = process.getuid?.();
    // Only our own directory, not writable by others: a planted cluster could carry roles or triggers.
    return info.isDirectory() && (uid === undefined || info.uid === uid) && (info.mode & 0o022) === 0 && (await stat(join(dir, 'PG_VERSION'))).isFile();
  } catch {
    return false;
  }
}

/** Fills `target` with a fresh cluster, from the cached template when there is one. */
async function createCluster(target: string): Promise<void> {
  const template = templateDir();
  if (!(await usableTemplate(template))) {
    await mkdir(join(template, '..'), { recursive: true, mode: 0o700 });
    const temp = `${template}.${process.pid}.${Date.now()}.tmp`;
    await mkdir(temp, { mode: 0o700 });
    const db = await (await loadPglite()).create(temp);
    await db.close();
    // Another process may have won the race: either copy is the same empty cluster.
    await rename(temp, template).catch(() => rm(temp, { recursive: true, force: true }));
  }
  await cp(template, target, { recursive: true });
}

/**
 * The embedded Postgres (PGlite, WASM) in `<dataDir>/db`, held by this process
 * alone. NOTIFY is delivered inside the process, so long-polls wake the same way
 * as with a server.
 *
 * @throws {CloudError} DATA_DIR_LOCKED when another live process holds it.
 */
export async function openPgliteDb(dataDir: string): Promise<SqlDb> {
  const paths = pglitePaths(dataDir);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const release = await takeLock(paths.lock);
  let db: PGlite;
  try {
    const fresh = await stat(join(paths.db, 'PG_VERSION')).then(
      () => false,
      () => true,
    );
    if (fresh) await createCluster(paths.db);
    // 16 MB of shared buffers, not the default 128 MB: the embedded database lives in Cloud's own memory.
    db = await (await loadPglite()).create(paths.db, { postgresqlconf: ['shared_buffers=16MB', 'wal_buffers=1MB'] });
  } catch (error) {
    await release();
    throw error;
  }
  const runner = (q: Pick<PGlite, 'query' | 'exec'>): SqlRunner => ({
    query: async <T>(text: string, params: readonly SqlValue[] = []) => (await q.query<T>(text, params as unknown[])).rows,
    exec: async (text) => {
      await q.exec(text);
    },
  });
  let closed = false;
  return {
    kind: 'pglite',
    ...runner(db),
    transaction: (fn) => db.transaction((tx) => fn(runner(tx))),
    listen: async (channel, onPayload) => {
      const unlisten = await db.listen(channel, onPayload);
      return async () => {
        if (!closed) await unlisten();
      };
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await db.close();
      await release();
    },
  };
}
