import { AskSchema, ProtocolError, formatIssuePath, parseStrictJson } from '@lumenflow/protocol';
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
      throw new CloudError('ASK_INVALID', `${where}: ${cause.code}: ${cause.message}`, {
        ...(cause.line === undefined ? {} : { line: cause.line }),
        ...(cause.column === undefined ? {} : { column: cause.column }),
        cause,
      });
    }
    throw cause;
  }
  const result = AskSchema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const segments = (issue?.path ?? []).map((s) => (typeof s === 'number' ? s : String(s)));
  const path = formatIssuePath(segments);
  const at = locateJsonPath(text, segments) ?? { line: 1, column: 1 };
  throw new CloudError('ASK_INVALID', `${source}:${at.line}:${at.column}: ${path}: ${issue?.message ?? 'invalid Ask'}`, {
    line: at.line,
    column: at.column,
    path,
  });
}

/**
 * Finds the 1-based line and column where the value at `segments` starts in
 * JSON text already known to be well-formed; for a missing key, its parent.
 */
export function locateJsonPath(text: string, segments: ReadonlyArray<string | number>): { line: number; column: number } | undefined {
  let pos = 0;
  const ws = (): void => {
    while (pos < text.length && ' \t\r\n'.includes(text[pos] as string)) pos++;
  };
  const skipString = (): string => {
    const start = pos;
    pos++;
    while (pos < text.length && text[pos] !== '"') pos += text[pos] === '\\' ? 2 : 1;
    pos++;
    return JSON.parse(text.slice(start, pos)) as string;
  };
  const skipValue = (): void => {
    ws();
    const c = text[pos];
    if (c === '"') {
      skipString();
    } else if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      pos++;
      ws();
      if (text[pos] === close) {
        pos++;
        return;
      }
      for (;;) {
        ws();
        if (c === '{') {
          skipString();
          ws();
          pos++; // :
        }
        skipValue();
        ws();
        if (text[pos++] !== ',') return;
      }
    } else {
      while (pos < text.length && !',}] \t\r\n'.includes(text[pos] as string)) pos++;
    }
  };
  try {
    for (const segment of segments) {
      ws();
      const container = text[pos];
      const parentAt = pos;
      pos++;
      let found = false;
      let index = 0;
      ws();
      while (pos < text.length && text[pos] !== '}' && text[pos] !== ']') {
        ws();
        if (container === '{') {
          const key = skipString();
          ws();
          pos++; // :
          ws();
          if (key === segment) {
            found = true;
            break;
          }
        } else if (index === segment) {
          found = true;
          break;
        }
        skipValue();
        ws();
        if (text[pos] === ',') pos++;
        index++;
      }
      if (!found) {
        pos = parentAt;
        break;
      }
    }
    ws();
  } catch {
    return undefined;
  }
  let line = 1;
  let column = 1;
  for (let i = 0; i < pos && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      column = 1;
    } else column++;
  }
  return { line, column };
}
