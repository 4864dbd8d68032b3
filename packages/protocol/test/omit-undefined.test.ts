import { describe, expect, expectTypeOf, test } from 'vitest';
import { omitUndefined } from '@lumenflow/protocol';

describe('omitUndefined', () => {
  test('drops exactly the undefined keys, keeps every other falsy value, and keeps key order', () => {
    const out = omitUndefined({ a: 1, b: undefined, c: null, d: false, e: 0, f: '', g: undefined, h: 'x' });
    expect(Object.keys(out)).toEqual(['a', 'c', 'd', 'e', 'f', 'h']);
    expect(out).toEqual({ a: 1, c: null, d: false, e: 0, f: '', h: 'x' });
    expect('b' in out).toBe(false);
  });

  test('is shallow and leaves its input alone', () => {
    const nested = { inner: undefined };
    const input = { nested, gone: undefined };
    const out = omitUndefined(input);
    expect(out.nested).toBe(nested);
    expect(input).toHaveProperty('gone');
  });

  test('types a maybe-undefined value as an optional key without undefined (exactOptionalPropertyTypes)', () => {
    const ttl = 5 as number | undefined;
    const out = omitUndefined({ id: 'x', ttlMs: ttl });
    expectTypeOf(out).toEqualTypeOf<{ id: string; ttlMs?: number }>();
  });
});
