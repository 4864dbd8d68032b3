import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalize, canonicalizeToBytes, parseStrictJson } from '@lumenflow/protocol';
import { codeOf, hasUnsafeInteger } from './support/json-helpers.js';

const vectors = join(import.meta.dirname, 'vectors', 'jcs');

describe('canonicalize: published JCS vectors (cyberphone testdata)', () => {
  const cases = readdirSync(vectors).filter((name) => statSync(join(vectors, name)).isDirectory());
  it('has the seven published cases', () => {
    expect(cases.sort()).toEqual(['arrays', 'french', 'simple-string', 'structures', 'unicode', 'values', 'weird']);
  });
  for (const name of cases) {
    it(`${name}: parse then canonicalize gives the published bytes`, () => {
      const input = readFileSync(join(vectors, name, 'input.json'), 'utf8');
      const expected = readFileSync(join(vectors, name, 'expected.json'));
      expect(Buffer.from(canonicalizeToBytes(parseStrictJson(input))).equals(expected), name).toBe(true);
    });
  }
});

describe('canonicalize: RFC 8785 Appendix B numbers', () => {
  const doc = JSON.parse(readFileSync(join(vectors, 'numbers.json'), 'utf8')) as {
    vectors: Array<{ ieee754: string; expected: string; comment: string }>;
    invalid: string[];
  };
  const toDouble = (hex: string): number => Buffer.from(hex, 'hex').readDoubleBE(0);
  for (const v of doc.vectors) {
    it(`${v.ieee754} -> ${v.expected} ${v.comment}`, () => {
      expect(canonicalize(toDouble(v.ieee754))).toBe(v.expected);
    });
  }
  for (const hex of doc.invalid) {
    it(`${hex} (NaN/Infinity) has no JSON form`, () => {
      expect(codeOf(() => canonicalize(toDouble(hex)))).toBe('JSON_NOT_CANONICALIZABLE');
    });
  }
});

describe('canonicalize: rules', () => {
  it('sorts keys by UTF-16 code units, not code points or locale', () => {
    // U+1F600 is D83D DE00 in UTF-16, so it sorts before U+FB33 although its code point is larger.
    expect(canonicalize({ '\uFB33': 1, '\u{1F600}': 2, a: 3, B: 4 })).toBe('{"B":4,"a":3,"\u{1F600}":2,"\uFB33":1}');
  });
  it('writes UTF-8 bytes with no BOM and no trailing newline', () => {
    const bytes = canonicalizeToBytes({ a: 'é' });
    expect(Buffer.from(bytes).toString('hex')).toBe(Buffer.from('{"a":"é"}', 'utf8').toString('hex'));
  });
  it('drops properties holding undefined, like JSON.stringify', () => {
    expect(canonicalize({ a: undefined, b: 1 })).toBe('{"b":1}');
  });
  it('serialises -0 as 0', () => {
    expect(canonicalize([-0])).toBe('[0]');
  });
  it('rejects lone surrogates in values and in keys', () => {
    expect(codeOf(() => canonicalize('\uD800'))).toBe('JSON_LONE_SURROGATE');
    expect(codeOf(() => canonicalize({ '\uDC00x': 1 }))).toBe('JSON_LONE_SURROGATE');
  });
  it.each([
    ['a bigint', 1n],
    ['a function', () => 1],
    ['a symbol', Symbol('s')],
    ['undefined', undefined],
    ['a Date', new Date(0)],
    ['a Map', new Map()],
    ['an array holding undefined', [undefined]],
    ['a sparse array', [1, , 2]], // eslint-disable-line no-sparse-arrays
  ])('rejects %s', (_label, value) => {
    expect(codeOf(() => canonicalize(value))).toBe('JSON_NOT_CANONICALIZABLE');
  });
  it('rejects a cycle with a code instead of overflowing the stack', () => {
    const loop: Record<string, unknown> = {};
    loop['self'] = loop;
    expect(codeOf(() => canonicalize(loop))).toBe('JSON_NOT_CANONICALIZABLE');
  });
  it('accepts the same object twice when it is not a cycle', () => {
    const shared = { x: 1 };
    expect(canonicalize({ a: shared, b: shared })).toBe('{"a":{"x":1},"b":{"x":1}}');
  });
  it('keeps a "__proto__" key parsed as data', () => {
    expect(canonicalize(parseStrictJson('{"__proto__":{"x":1},"a":2}'))).toBe('{"__proto__":{"x":1},"a":2}');
  });
});

describe('canonicalize: properties', () => {
  const json = fc.jsonValue({ maxDepth: 4 }).filter((v) => !hasUnsafeInteger(v));
  it('is a fixed point: canonical text parses and re-canonicalises to itself', () => {
    fc.assert(
      fc.property(json, (value) => {
        const text = canonicalize(value);
        expect(canonicalize(parseStrictJson(text))).toBe(text);
      }),
    );
  });
  it('describes the same value JSON.parse reads back', () => {
    fc.assert(
      fc.property(json, (value) => {
        expect(JSON.parse(canonicalize(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });
});
