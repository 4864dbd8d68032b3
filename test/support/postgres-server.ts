// A real Postgres 15 server from Debian's postgresql package, for tests and the
// bench: a fresh cluster in a temporary directory, listening on one loopback
// port, stopped by its own PID. Postgres refuses to run as root, so as root the
// cluster belongs to the `postgres` user the package creates.
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chownSync, existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const POSTGRES_BIN = process.env['LUMENFLOW_POSTGRES_BIN'] ?? '/usr/lib/postgresql/15/bin';

export interface PostgresServer {
  url: string;
  pid: number;
  /** A database of its own on this server (CREATE DATABASE), as a URL. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

/** Whether the Debian server binaries are installed. */
export function hasPostgres(): boolean {
  return existsSync(join(POSTGRES_BIN, 'postgres')) && existsSync(join(POSTGRES_BIN, 'initdb'));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function owner(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/**
 * Starts a server and waits until it accepts connections.
 *
 * @throws {Error} when the binaries are missing or the server does not come up in time.
 */
export async function startPostgres(opts: { fsync?: boolean } = {}): Promise<PostgresServer> {
  if (!hasPostgres()) throw new Error(`no Postgres server binaries in ${POSTGRES_BIN}: apt-get install postgresql`);
  const dir = await mkdtemp(join(tmpdir(), 'lf-pg-'));
  const ids = owner();
  if (ids !== undefined) chownSync(dir, ids.uid, ids.gid);
  const data = join(dir, 'data');
  const spawnOpts = { ...(ids ?? {}), stdio: ['ignore', 'ignore', 'pipe'] as ['ignore', 'ignore', 'pipe'] };
  await run(spawn(join(POSTGRES_BIN, 'initdb'), ['-D', data, '-U', 'lumenflow', '--auth=trust', '--encoding=UTF8', '--no-locale', '--no-sync'], spawnOpts), 'initdb');
  const port = await freePort();
  const child = spawn(
    join(POSTGRES_BIN, 'postgres'),
    ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', `fsync=${opts.fsync === false ? 'off' : 'on'}`, '-c', 'max_connections=200'],
    spawnOpts,
  );
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const url = `postgres://lumenflow@127.0.0.1:${port}/postgres`;
  const deadline = Date.now() + 30_000;
  const pg = (await import('pg')).default;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`postgres exited: ${stderr}`);
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      break;
    } catch {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`postgres did not accept connections in 30 s: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const pid = child.pid as number;
  return {
    url,
    pid,
    createDatabase: async (name) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
      } finally {
        await client.end();
      }
      return `postgres://lumenflow@127.0.0.1:${port}/${name}`;
    },
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        // SIGINT: fast shutdown, by the server's own PID.
        process.kill(pid, 'SIGINT');
        const timer = setTimeout(() => child.exitCode === null && process.kill(pid, 'SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function run(child: ChildProcess, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${what} exited ${code}: ${stderr.slice(-2000)}`))));
  });
}
