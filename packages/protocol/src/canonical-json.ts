import { ProtocolError } from './errors.js';

/** A JSON value as RFC 8785 sees it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * Serialises a value as RFC 8785 (JSON Canonicalization Scheme) text.
 *
 * Keys sort by UTF-16 code units (JS's default sort), numbers use the
 * ECMAScript shortest round-trip form, and strings use JSON.stringify's
 * escaping, which is exactly the JCS escaping once lone surrogates are ruled out.
 *
 * @throws {ProtocolError} JSON_NOT_CANONICALIZABLE for non-finite numbers,
 *   `undefined`, functions, symbols, bigints, or non-plain objects;
 *   JSON_LONE_SURROGATE for strings that are not well-formed UTF-16.
 */
export function canonicalize(value: unknown): string {
  return serialize(value, '$', new Set());
}

/** RFC 8785 canonical form as UTF-8 bytes (no BOM, no trailing newline). */
export function canonicalizeToBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalize(value));
}

function serialize(value: unknown, path: string, open: Set<object>): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) {
        throw new ProtocolError('JSON_NOT_CANONICALIZABLE', `${path}: ${String(value)} has no JSON form`, { path });
      }
      // -0 serialises as 0 per RFC 8785 §3.2.2.3; JSON.stringify already does that.
      return JSON.stringify(value);
    case 'string':
      assertWellFormed(value, path);
      return JSON.stringify(value);
    case 'object': {
      // A cycle has no JSON form; without this it would end in a stack overflow.
      if (open.has(value)) {
        throw new ProtocolError('JSON_NOT_CANONICALIZABLE', `${path}: circular reference`, { path });
      }
      if (Array.isArray(value)) {
        open.add(value);
        // An index loop, not map(): map skips holes, and a sparse array would print as `[1,,2]`.
        const items: string[] = [];
        for (let i = 0; i < value.length; i++) items.push(serialize(value[i], `${path}[${i}]`, open));
        open.delete(value);
        return `[${items.join(',')}]`;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        throw new ProtocolError('JSON_NOT_CANONICALIZABLE', `${path}: only plain objects are JSON`, { path });
      }
      open.add(value);
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).sort();
      const parts: string[] = [];
      for (const key of keys) {
        const item = record[key];
        // Like JSON.stringify, a property holding undefined is absent, so that
        // optional fields spelled `{ x: undefined }` hash the same as omitted ones.
        if (item === undefined) continue;
        assertWellFormed(key, path);
        parts.push(`${JSON.stringify(key)}:${serialize(item, `${path}.${key}`, open)}`);
      }
      open.delete(value);
      return `{${parts.join(',')}}`;
    }
    default:
      throw new ProtocolError('JSON_NOT_CANONICALIZABLE', `${path}: a ${typeof value} has no JSON form`, { path });
  }
}

function assertWellFormed(text: string, path: string): void {
  if (!text.isWellFormed()) {
    throw new ProtocolError('JSON_LONE_SURROGATE', `${path}: string holds a lone surrogate`, { path });
  }
}
