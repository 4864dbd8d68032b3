import type pg from 'pg';
import { CloudError } from '../errors.js';
import type { SqlDb, SqlRunner, SqlValue } from './sql.js';

/**
 * A Postgres server through `pg`: a pool for statements and one dedicated
 * connection that LISTENs, so several Cloud processes share one database and
 * wake each other's long-polls.
 *
 * @throws {CloudError} DATABASE_UNREACHABLE when no connection can be made.
 */
export async function openPostgresDb(url: string, opts: { max?: number } = {}): Promise<SqlDb> {
  // Loaded here, not with the module: see loadPglite in pglite-adapter.ts.
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({ connectionString: url, max: opts.max ?? 10, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 10_000 });
  // A dropped idle connection must not crash the process; the next query gets a fresh one.
  pool.on('error', () => undefined);
  let listener: pg.Client;
  try {
    listener = await pool.connect().then((c) => {
      c.release();
      return new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
    });
    await listener.connect();
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new CloudError('DATABASE_UNREACHABLE', `cannot connect to the database (${(error as { code?: string }).code ?? (error as Error).message})`, { cause: error });
  }
  listener.on('error', () => undefined);
  const handlers = new Map<string, Set<(payload: string) => void>>();
  listener.on('notification', (n) => {
    for (const fn of handlers.get(n.channel) ?? []) fn(n.payload ?? '');
  });
  const runner = (client: pg.Pool | pg.PoolClient): SqlRunner => ({
    query: async <T>(text: string, params: readonly SqlValue[] = []) => (await client.query(text, params as unknown[])).rows as T[],
    exec: async (text) => {
      await client.query(text);
    },
  });
  return {
    kind: 'postgres',
    ...runner(pool),
    transaction: async (fn) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(runner(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    listen: async (channel, onPayload) => {
      let set = handlers.get(channel);
      if (set === undefined) {
        set = new Set();
        handlers.set(channel, set);
        await listener.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      }
      set.add(onPayload);
      return async () => {
        set.delete(onPayload);
      };
    },
    close: async () => {
      await listener.end().catch(() => undefined);
      await pool.end();
    },
  };
}
