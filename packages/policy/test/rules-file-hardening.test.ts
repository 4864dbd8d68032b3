import { describe, expect, it } from 'vitest';
import { PolicyError, parseRules } from '@lumenflow/policy';

function errorOf(text: string, format: 'yaml' | 'json' = 'yaml'): PolicyError {
  try {
    parseRules(text, { fileName: `rules.${format}`, format });
  } catch (error) {
    if (error instanceof PolicyError) return error;
    throw error;
  }
  throw new Error('expected the rules file to be refused');
}

const ruleWith = (effectLine: string, reasonLine = '    reason: r'): string =>
  ['version: 1', 'rules:', '  - id: org.a.b', effectLine, '    match: { kind: fs.read, path: "src/**" }', reasonLine, ''].join('\n');

// An unknown YAML tag was only a parser warning, so `!foo allow` loaded as
// allow; other tags ask the parser to build something other than plain data.
describe('YAML tags are refused, at the tag', () => {
  for (const tag of ['!!js/function', '!!str', '!custom', '!!binary']) {
    it(tag, () => {
      const error = errorOf(ruleWith(`    effect: ${tag} allow`));
      expect({ code: error.code, line: error.line, column: error.column }).toEqual({ code: 'RULES_SYNTAX', line: 4, column: 13 });
    });
  }

  it('a tag on a whole mapping', () => {
    const error = errorOf('version: 1\nrules: !!seq\n  []\n');
    expect({ code: error.code, line: error.line }).toEqual({ code: 'RULES_SYNTAX', line: 2 });
  });
});

describe('a reason must say something', () => {
  it('whitespace only is refused where it stands', () => {
    const error = errorOf(ruleWith('    effect: deny', '    reason: "   "'));
    expect({ code: error.code, line: error.line, column: error.column }).toEqual({ code: 'RULES_INVALID', line: 6, column: 13 });
  });

  it('in JSON too', () => {
    const error = errorOf(JSON.stringify({ version: 1, rules: [{ id: 'org.a.b', effect: 'deny', match: { kind: 'fs.read', path: 'x' }, reason: '\n\t' }] }), 'json');
    expect(error.code).toBe('RULES_INVALID');
  });
});
