import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { formatIssuePath, parseStrictJsonBytes } from '@lumenflow/protocol';

/** What a route sees: the authenticated caller (empty for unsigned routes), the raw body and query. */
export interface RouteContext {
  runtimeId: string;
  body: Uint8Array;
  query: URLSearchParams;
  req: IncomingMessage;
  res: ServerResponse;
}

export interface Reply {
  status: number;
  body: unknown;
}

export type Route = (ctx: RouteContext) => Promise<Reply>;

/** An error answer: `{ error: { code, message } }`. */
export function fail(status: number, code: string, message: string): Reply {
  return { status, body: { error: { code, message } } };
}

/** The body as strict JSON of `schema`, or the 400 that says why not. */
export function parseBody<T>(body: Uint8Array, schema: z.ZodType<T>): { ok: true; value: T } | { ok: false; reply: Reply } {
  let value: unknown;
  try {
    value = parseStrictJsonBytes(body);
  } catch {
    return { ok: false, reply: fail(400, 'BAD_JSON', 'the body is not strict JSON') };
  }
  const result = schema.safeParse(value);
  if (!result.success) return { ok: false, reply: fail(400, 'SCHEMA_INVALID', `invalid at ${formatIssuePath(result.error.issues[0]?.path ?? [])}`) };
  return { ok: true, value: result.data };
}
