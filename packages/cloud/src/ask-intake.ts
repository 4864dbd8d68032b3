import { AskSchema, ProtocolError, formatIssuePath, locateStrictJsonPath, omitUndefined, parseStrictJson } from '@lumenflow/protocol';
import type { Ask } from '@lumenflow/protocol';
import { CloudError } from './errors.js';

/**
 * Parses an Ask document: strict JSON (no duplicate keys, no unsafe numbers),
 * then AskSchema. The error points at the line and column of the problem, and
 * for a schema problem also names its dotted path.
 *
 * @throws {CloudError} ASK_INVALID.
 */
export function parseAsk(text: string, source = 'ask'): Ask {
  let value: unknown;
  try {
    value = parseStrictJson(text);
  } catch (cause) {
    if (cause instanceof ProtocolError) {
      const where = `${source}:${cause.line ?? 1}:${cause.column ?? 1}`;
      throw new CloudError('ASK_INVALID', `${where}: ${cause.code}: ${cause.message}`, { ...omitUndefined({ line: cause.line, column: cause.column }), cause });
    }
    throw cause;
  }
  const result = AskSchema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const segments = (issue?.path ?? []).map((s) => (typeof s === 'number' ? s : String(s)));
  const path = formatIssuePath(segments);
  // The text parsed above, so the strict parser finds the path (for a missing key, its object).
  const at = locateStrictJsonPath(text, segments);
  throw new CloudError('ASK_INVALID', `${source}:${at.line}:${at.column}: ${path}: ${issue?.message ?? 'invalid Ask'}`, {
    line: at.line,
    column: at.column,
    path,
  });
}
