import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError, locateStrictJsonPath, parseStrictJson, parseStrictJsonBytes } from '@lumenflow/protocol';
import { errorOf, hasUnsafeInteger } from './support/json-helpers.js';

describe('parseStrictJson: rejects what JSON.parse silently accepts', () => {
  it('rejects a duplicate key, with its position', () => {
    const error = errorOf(() => parseStrictJson('{\n  "a": 1,\n  "a": 2\n}'));
    expect(error?.code).toBe('JSON_DUPLICATE_KEY');
    expect([error?.line, error?.column]).toEqual([3, 3]);
  });
  it('rejects a duplicate key nested in an array', () => {
    expect(errorOf(() => parseStrictJson('[{"x":{"b":1,"b":1}}]'))?.code).toBe('JSON_DUPLICATE_KEY');
  });
  it('rejects a duplicate key spelled with an escape', () => {
    expect(errorOf(() => parseStrictJson('{"a":1,"\\u0061":2}'))?.code).toBe('JSON_DUPLICATE_KEY');
  });
  it('allows the same key in sibling objects', () => {
    expect(parseStrictJson('[{"a":1},{"a":2}]')).toEqual([{ a: 1 }, { a: 2 }]);
  });
  it.each(['9007199254740992', '-9007199254740992', '12345678901234567890', '1e400', '-1e400'])(
    'rejects %s, which would lose precision or overflow',
    (text) => {
      expect(errorOf(() => parseStrictJson(text))?.code).toBe('JSON_UNSAFE_NUMBER');
    },
  );
  it('accepts the largest safe integers', () => {
    expect(parseStrictJson('[9007199254740991,-9007199254740991]')).toEqual([9007199254740991, -9007199254740991]);
  });
  it.each(['"\\ud800"', '"\\udc00"', '"\\ud800x"', '{"\\ud83d":1}'])('rejects the lone surrogate in %s', (text) => {
    expect(errorOf(() => parseStrictJson(text))?.code).toBe('JSON_LONE_SURROGATE');
  });
  it('accepts an escaped surrogate pair', () => {
    expect(parseStrictJson('"\\ud83d\\ude00"')).toBe('\u{1F600}');
  });
  it('rejects a byte-order mark in text and in bytes', () => {
    expect(errorOf(() => parseStrictJson('\uFEFF{}'))?.code).toBe('JSON_BOM');
    expect(errorOf(() => parseStrictJsonBytes(Uint8Array.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d])))?.code).toBe('JSON_BOM');
  });
  it('rejects invalid UTF-8 instead of replacing it', () => {
    expect(errorOf(() => parseStrictJsonBytes(Uint8Array.from([0x22, 0xff, 0x22])))?.code).toBe('JSON_SYNTAX');
    expect(errorOf(() => parseStrictJsonBytes(Uint8Array.from([0x22, 0xed, 0xa0, 0x80, 0x22])))?.code).toBe('JSON_SYNTAX');
  });
  it.each([
    '',
    ' ',
    '{',
    '[1,]',
    '{"a":1,}',
    '{a:1}',
    "{'a':1}",
    '01',
    '-01',
    '+1',
    '.5',
    '1.',
    '1e',
    '-',
    'NaN',
    'Infinity',
    'nul',
    'truex',
    '"a\tb"',
    '"\\x41"',
    '"\\u12"',
    '"abc',
    '/* c */ 1',
    '1 2',
    '\u00a01',
    '[1]]',
    `${'['.repeat(300)}${']'.repeat(300)}`,
  ])('rejects %j as a syntax error', (text) => {
    expect(errorOf(() => parseStrictJson(text))?.code).toBe('JSON_SYNTAX');
  });
  it('reads a long but valid number that a fixed window would split', () => {
    expect(parseStrictJson(`[0.${'0'.repeat(500)}1]`)).toEqual([0]);
  });
  it('keeps "__proto__" as an own data key, never as the prototype', () => {
    const value = parseStrictJson('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('parseStrictJson: agrees with JSON.parse on documents it accepts', () => {
  const json = fc.jsonValue({ maxDepth: 4 }).filter((v) => !hasUnsafeInteger(v));
  it('reads any JSON.stringify output (compact or indented) as JSON.parse does', () => {
    fc.assert(
      fc.property(json, fc.boolean(), (value, indent) => {
        const text = JSON.stringify(value, null, indent ? 2 : undefined);
        expect(parseStrictJson(text)).toEqual(JSON.parse(text));
      }),
    );
  });
  it('reads UTF-8 bytes as it reads the text', () => {
    fc.assert(
      fc.property(json, (value) => {
        const text = JSON.stringify(value);
        expect(parseStrictJsonBytes(new TextEncoder().encode(text))).toEqual(parseStrictJson(text));
      }),
    );
  });
});

describe('locateStrictJsonPath', () => {
  const text = '{\n  "a": [1, {"b": "x"}],\n  "c\\u0022": {"d": null}\n}';
  it('finds where the value at a path starts, by keys and array indexes', () => {
    expect(locateStrictJsonPath(text, [])).toEqual({ line: 1, column: 1 });
    expect(locateStrictJsonPath(text, ['a'])).toEqual({ line: 2, column: 8 });
    expect(locateStrictJsonPath(text, ['a', 1, 'b'])).toEqual({ line: 2, column: 18 });
    expect(locateStrictJsonPath(text, ['c"', 'd'])).toEqual({ line: 3, column: 20 });
  });
  it('for a path not in the document, points at the deepest value on it that is', () => {
    expect(locateStrictJsonPath(text, ['a', 1, 'missing'])).toEqual({ line: 2, column: 12 });
    expect(locateStrictJsonPath(text, ['a', 7])).toEqual({ line: 2, column: 8 });
    expect(locateStrictJsonPath(text, ['nope'])).toEqual({ line: 1, column: 1 });
  });
  it('refuses text that is not strict JSON, as the parser does', () => {
    expect(() => locateStrictJsonPath('{"a":1,"a":2}', ['a'])).toThrow(ProtocolError);
  });
});
