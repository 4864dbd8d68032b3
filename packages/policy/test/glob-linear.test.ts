import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRuleSet, evaluateScope } from '@lumenflow/policy';

// Globs used to compile to backtracking regexes: `*a*a*a*a*a*a*b` against a few
// hundred `a` never finished, so one rule (or one crafted path) stalled every
// decision. They now run as an NFA. No timing here (see scripts/bench/policy.ts);
// these cases simply could not complete before.
function denyOn(path: string) {
  return createRuleSet({ version: 1, rules: [{ id: 'org.glob.deny', effect: 'deny', match: { kind: 'fs.read', path }, reason: 'test' }] }, 'glob.yaml');
}

describe('glob matching on inputs built to make a regex backtrack', () => {
  it('nested stars against a long run that almost matches', () => {
    const cloud = denyOn('*a*a*a*a*a*a*a*a*a*a*a*a*b');
    expect(evaluateScope({ cloud }, { kind: 'fs.read', path: 'a'.repeat(20_000) }).decidingRuleId).toBe('policy.default.deny');
    expect(evaluateScope({ cloud }, { kind: 'fs.read', path: `${'a'.repeat(20_000)}b` }).decidingRuleId).toBe('org.glob.deny');
  });

  it('nested globstars across many segments', () => {
    const cloud = denyOn('**/a**a**a**a**a**a**b/**');
    expect(evaluateScope({ cloud }, { kind: 'fs.read', path: 'a/'.repeat(5_000) + 'a' }).decidingRuleId).toBe('policy.default.deny');
  });
});

// The reference: the regex each glob used to compile to (correct, only slow).
function referenceRegex(pattern: string, separator: string): RegExp {
  const esc = (t: string): string => t.replace(/[\\^$.*+?()[\]{}|/]/g, (c) => `\\${c}`);
  const sep = esc(separator);
  let out = '';
  let inBraces = false;
  for (let i = 0; i < pattern.length; ) {
    const c = pattern[i] as string;
    if (c === '*' && pattern[i + 1] === '*') {
      if ((i === 0 || pattern[i - 1] === separator) && pattern[i + 2] === separator) {
        out += `(?:.*${sep})?`;
        i += 3;
      } else {
        out += '.*';
        i += 2;
      }
      continue;
    }
    if (c === '*') out += `[^${sep}]*`;
    else if (c === '?') out += `[^${sep}]`;
    else if (c === '{') {
      inBraces = true;
      out += '(?:';
    } else if (c === '}' && inBraces) {
      inBraces = false;
      out += ')';
    } else if (c === ',' && inBraces) out += '|';
    else out += esc(c);
    i++;
  }
  return new RegExp(`^${out}$`, 'su');
}

describe('the NFA means what the glob dialect says', () => {
  const piece = fc.constantFrom('a', 'b', '/', '.', '*', '**', '?', '**/', '{a,b/}', '{,a*}');
  const text = fc.array(fc.constantFrom('a', 'b', '/', '.'), { maxLength: 12 }).map((cs) => cs.join(''));
  it('agrees with the reference regex on every pattern and path', () => {
    fc.assert(
      fc.property(fc.array(piece, { minLength: 1, maxLength: 7 }), text, (pieces, path) => {
        const pattern = pieces.join('');
        if (pattern.includes('***')) return;
        const cloud = denyOn(pattern);
        const normalized = path.split('/').filter((s) => s !== '' && s !== '.').join('/');
        if (normalized === '' || normalized.split('/').includes('..')) return;
        const expected = referenceRegex(pattern, '/').test(normalized);
        const decision = evaluateScope({ cloud }, { kind: 'fs.read', path: normalized });
        expect(decision.decidingRuleId === 'org.glob.deny', `${pattern} vs ${normalized}`).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('alternatives that a regex would try in every combination', () => {
  it('forty {a,aa} groups against a run of a that cannot end in b', () => {
    const cloud = denyOn(`${'{a,aa}'.repeat(40)}b`);
    expect(evaluateScope({ cloud }, { kind: 'fs.read', path: 'a'.repeat(80) }).decidingRuleId).toBe('policy.default.deny');
    expect(evaluateScope({ cloud }, { kind: 'fs.read', path: `${'a'.repeat(60)}b` }).decidingRuleId).toBe('org.glob.deny');
  });
});
