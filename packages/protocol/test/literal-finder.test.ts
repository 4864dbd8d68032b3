import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLiteralFinder } from '../src/literal-finder.js';

// The redactor's prefilter must never miss a start: compare with a plain search.
function naiveNext(literals: readonly string[], text: string, from: number): number {
  let best = -1;
  for (const literal of literals) {
    const window = Math.min(16, ...literals.map((l) => l.length));
    const at = text.indexOf(literal.slice(0, window), from);
    if (at !== -1 && (best === -1 || at < best)) best = at;
  }
  return best;
}

describe('createLiteralFinder', () => {
  it('finds every place a literal prefix starts, leftmost first, as a plain search does', () => {
    const alphabet = fc.constantFrom(...'ab01-=\n"é'.split(''));
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: alphabet, minLength: 8, maxLength: 24 }), { minLength: 1, maxLength: 6 }),
        fc.string({ unit: alphabet, maxLength: 300 }),
        (literals, noise) => {
          const text = `${noise}${literals[0] ?? ''}${noise}`;
          const finder = createLiteralFinder(literals);
          for (let from = 0; from <= text.length; from += 1) expect(finder.next(text, from)).toBe(naiveNext(literals, text, from));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('refuses a literal shorter than its window', () => {
    expect(() => createLiteralFinder(['short'])).toThrow(RangeError);
  });
});
