// The one seam between Cloud's store and a database: both adapters (embedded
// PGlite and a Postgres server through `pg`) run exactly the same SQL text.

export type SqlValue = string | number | boolean | null | readonly string[] | readonly number[];

export interface SqlRunner {
  /** One parameterised statement. */
  query<T = Record<string, unknown>>(text: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Several statements without parameters (migrations). */
  exec(text: string): Promise<void>;
}

export interface SqlDb extends SqlRunner {
  readonly kind: 'pglite' | 'postgres';
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T>;
  /** Subscribes to NOTIFY on `channel`; resolves once listening. Returns the unsubscribe. */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** The Postgres error code of a thrown database error, if it carries one (23505: unique violation). */
export function sqlErrorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A bigint column read back as a JS number (pg returns int8 as a string). */
export function toMs(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}
