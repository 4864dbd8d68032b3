import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { comparePrincipals, principalKey } from '@lumenflow/protocol';

describe('principal ids: one comparison rule for Cloud and Replay', () => {
  it('folds ASCII case only', () => {
    expect(comparePrincipals('op.dana', 'OP.Dana')).toBe('same');
    expect(comparePrincipals('op.dana', 'op.dana2')).toBe('different');
    expect(comparePrincipals('runtime:rt_0001', 'reviewer:bob')).toBe('different');
    expect(principalKey('Rev.Kim@Example.com')).toBe('rev.kim@example.com');
  });

  it.each([
    ['a zero-width space', 'op.d\u200bana'],
    ['a zero-width joiner', 'op.d\u200dana'],
    ['fullwidth letters', '\uff4f\uff50.\uff44\uff41\uff4e\uff41'],
    ['a Cyrillic a', 'op.d\u0430na'],
    ['a Greek omicron', '\u03bfp.dana'],
    ['a dotless i turned upper (Turkish)', 'op.dan\u0131'],
    ['padding', ' op.dana'],
    ['an empty id', ''],
  ])('an id with %s is outside the syntax, so never "different"', (_label, id) => {
    expect(comparePrincipals(id, 'op.dana')).toBe('invalid');
    expect(comparePrincipals('op.dana', id)).toBe('invalid');
  });

  it('never calls two ids different when they render alike: any non-ASCII character makes an id invalid', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 20, unit: 'binary' }), (id) => {
        const verdict = comparePrincipals(id, 'op.dana');
        // eslint-disable-next-line no-control-regex -- the point is the ASCII range
        if (/[^\x00-\x7f]/.test(id)) expect(verdict).toBe('invalid');
      }),
    );
  });
});
