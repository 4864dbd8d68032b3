import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PolicyError, computePolicyDigest, createRuleSet, loadRulesFile, parseRuleSet, parseRules } from '@lumenflow/policy';

const RULE = (extra = '') => `  - id: org.a.b\n    effect: allow\n    reason: because\n    match: { kind: fs.read, path: "src/**" }\n${extra}`;

// Each case: the text, its format, and where the problem must be reported.
const MALFORMED: Array<{ name: string; format: 'json' | 'yaml'; text: string; code: string; line: number; column: number }> = [
  { name: 'YAML syntax error', format: 'yaml', text: 'version: 1\nrules: [\n', code: 'RULES_SYNTAX', line: 3, column: 1 },
  { name: 'duplicate YAML key', format: 'yaml', text: 'version: 1\nrules:\n  - id: org.a.b\n    id: org.a.c\n', code: 'RULES_DUPLICATE_KEY', line: 4, column: 5 },
  { name: 'two YAML documents', format: 'yaml', text: 'version: 1\nrules: []\n---\nversion: 1\n', code: 'RULES_SYNTAX', line: 3, column: 1 },
  { name: 'YAML alias', format: 'yaml', text: 'version: 1\nx: &a []\nrules: *a\n', code: 'RULES_SYNTAX', line: 3, column: 8 },
  { name: 'wrong version', format: 'yaml', text: 'version: 2\nrules: []\n', code: 'RULES_INVALID', line: 1, column: 10 },
  { name: 'missing rules', format: 'yaml', text: 'version: 1\n', code: 'RULES_INVALID', line: 1, column: 1 },
  { name: 'unknown top-level key', format: 'yaml', text: 'version: 1\nrulez: []\nrules: []\n', code: 'RULES_INVALID', line: 2, column: 1 },
  { name: 'misspelt rule key', format: 'yaml', text: `version: 1\nrules:\n${RULE()}  - id: org.a.c\n    efect: deny\n    reason: r\n    match: { kind: fs.read, path: x }\n`, code: 'RULES_INVALID', line: 8, column: 5 },
  { name: 'unknown match key', format: 'yaml', text: 'version: 1\nrules:\n  - id: org.a.b\n    effect: allow\n    reason: r\n    match:\n      kind: fs.read\n      path: x\n      mode: y\n', code: 'RULES_INVALID', line: 9, column: 7 },
  { name: 'unknown match kind', format: 'yaml', text: 'version: 1\nrules:\n  - id: org.a.b\n    effect: allow\n    reason: r\n    match:\n      kind: fs.exec\n      path: x\n', code: 'RULES_INVALID', line: 7, column: 13 },
  { name: 'bad effect', format: 'yaml', text: 'version: 1\nrules:\n  - id: org.a.b\n    effect: permit\n    reason: r\n    match: { kind: fs.read, path: x }\n', code: 'RULES_INVALID', line: 4, column: 13 },
  { name: 'empty reason', format: 'yaml', text: 'version: 1\nrules:\n  - id: org.a.b\n    effect: allow\n    reason: ""\n    match: { kind: fs.read, path: x }\n', code: 'RULES_INVALID', line: 5, column: 13 },
  { name: 'undotted id', format: 'yaml', text: 'version: 1\nrules:\n  - id: nodots\n    effect: allow\n    reason: r\n    match: { kind: fs.read, path: x }\n', code: 'RULES_INVALID', line: 3, column: 9 },
  { name: 'reserved id', format: 'yaml', text: 'version: 1\nrules:\n  - id: policy.default.deny\n    effect: allow\n    reason: r\n    match: { kind: fs.read, path: x }\n', code: 'RULES_RESERVED_ID', line: 3, column: 9 },
  { name: 'duplicate id', format: 'yaml', text: `version: 1\nrules:\n${RULE()}${RULE()}`, code: 'RULES_DUPLICATE_ID', line: 7, column: 9 },
  { name: 'unclosed brace in a glob', format: 'yaml', text: 'version: 1\nrules:\n  - id: org.a.b\n    effect: allow\n    reason: r\n    match: { kind: fs.read, path: "src/{a" }\n', code: 'RULES_BAD_PATTERN', line: 6, column: 35 },
  { name: 'regex that does not compile', format: 'yaml', text: 'version: 1\nrules:\n  - id: org.a.b\n    effect: allow\n    reason: r\n    match: { kind: shell.exec, program: git, args: [{ regex: "(" }] }\n', code: 'RULES_BAD_PATTERN', line: 6, column: 62 },
  { name: 'port out of range', format: 'yaml', text: 'version: 1\nrules:\n  - id: org.a.b\n    effect: allow\n    reason: r\n    match: { kind: net.connect, host: x, port: 70000 }\n', code: 'RULES_INVALID', line: 6, column: 48 },
  { name: 'JSON syntax error', format: 'json', text: '{\n  "version": 1,\n  "rules": [,]\n}', code: 'RULES_SYNTAX', line: 3, column: 13 },
  { name: 'duplicate JSON key', format: 'json', text: '{\n  "version": 1,\n  "version": 1,\n  "rules": []\n}', code: 'RULES_DUPLICATE_KEY', line: 3, column: 3 },
  { name: 'JSON schema error', format: 'json', text: '{\n  "version": 1,\n  "rules": [\n    {"id": "org.a.b", "effect": "maybe", "reason": "r", "match": {"kind": "fs.read", "path": "x"}}\n  ]\n}', code: 'RULES_INVALID', line: 4, column: 33 },
  { name: 'JSON with a BOM', format: 'json', text: '\ufeff{"version": 1, "rules": []}', code: 'RULES_SYNTAX', line: 1, column: 1 },
];

describe('malformed rules files', () => {
  for (const c of MALFORMED) {
    it(`${c.name}: ${c.code} at ${c.line}:${c.column}`, () => {
      let caught: unknown;
      try {
        parseRules(c.text, { fileName: `bad.${c.format}`, format: c.format });
      } catch (error) {
        caught = error;
      }
      expect(caught, c.name).toBeInstanceOf(PolicyError);
      const error = caught as PolicyError;
      expect({ code: error.code, file: error.file, line: error.line, column: error.column }, `${c.name}: ${error.message}`).toEqual({
        code: c.code,
        file: `bad.${c.format}`,
        line: c.line,
        column: c.column,
      });
      // The operator sees the position first, as editors and compilers print it.
      expect(error.message.startsWith(`bad.${c.format}:${c.line}:${c.column}: `), error.message).toBe(true);
    });
  }
});

describe('well-formed rules files', () => {
  const yaml = `version: 1\nrules:\n${RULE()}`;
  const json = JSON.stringify({ rules: [{ match: { path: 'src/**', kind: 'fs.read' }, reason: 'because', effect: 'allow', id: 'org.a.b' }], version: 1 });

  it('gives the same rules and digest from YAML and JSON, in any key order', () => {
    const a = parseRules(yaml, { fileName: 'a.yaml' });
    const b = parseRules(json, { fileName: 'a.json' });
    expect(a.rules).toEqual(b.rules);
    expect(a.digest).toBe(b.digest);
    expect(computePolicyDigest({ cloud: a })).toBe(computePolicyDigest({ cloud: b }));
    expect(a.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('round-trips through its document, as Cloud ships it to a runtime', () => {
    const a = parseRules(yaml, { fileName: 'a.yaml' });
    const b = parseRuleSet(JSON.parse(JSON.stringify(a.document)));
    expect(b.digest).toBe(a.digest);
    expect(computePolicyDigest({ cloud: b })).toBe(computePolicyDigest({ cloud: a }));
  });

  it('is frozen, so a caller cannot change rules after the digest was taken', () => {
    const a = parseRules(yaml, { fileName: 'a.yaml' });
    expect(Object.isFrozen(a.rules[0])).toBe(true);
    expect(Object.isFrozen(a.rules[0]?.match)).toBe(true);
  });

  it('rejects a bad document built in code, with a code and a path', () => {
    expect(() => createRuleSet({ version: 1, rules: [{ id: 'org.a', effect: 'allow', match: { kind: 'fs.read', path: 'x' } }] }, 'gen')).toThrow(
      expect.objectContaining({ code: 'RULES_INVALID', path: 'rules[0].reason' }),
    );
  });

  it('treats an unknown extension as a format error unless the format is given', () => {
    expect(() => parseRules(yaml, { fileName: 'rules.txt' })).toThrow(expect.objectContaining({ code: 'RULES_FORMAT' }));
    expect(parseRules(yaml, { fileName: 'rules.txt', format: 'yaml' }).rules).toHaveLength(1);
  });

  it('accepts an empty rule list, which denies everything', () => {
    expect(parseRules('version: 1\nrules: []\n', { fileName: 'x.yaml' }).rules).toEqual([]);
  });
});

describe('loadRulesFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lf-rules-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads YAML and JSON by extension', async () => {
    writeFileSync(join(dir, 'r.yml'), `version: 1\nrules:\n${RULE()}`);
    writeFileSync(join(dir, 'r.json'), '{"version": 1, "rules": []}');
    expect((await loadRulesFile(join(dir, 'r.yml'))).rules).toHaveLength(1);
    expect((await loadRulesFile(join(dir, 'r.json'))).fileName).toBe(join(dir, 'r.json'));
  });

  it('reports a missing file as RULES_IO and invalid UTF-8 as RULES_IO', async () => {
    await expect(loadRulesFile(join(dir, 'missing.yaml'))).rejects.toMatchObject({ code: 'RULES_IO' });
    writeFileSync(join(dir, 'latin1.yaml'), Buffer.from([0x76, 0xe9, 0x0a]));
    await expect(loadRulesFile(join(dir, 'latin1.yaml'))).rejects.toMatchObject({ code: 'RULES_IO' });
  });

  it('names the file in a position error', async () => {
    writeFileSync(join(dir, 'bad.yaml'), 'version: 1\nrules:\n  - id: org.a.b\n');
    await expect(loadRulesFile(join(dir, 'bad.yaml'))).rejects.toMatchObject({ code: 'RULES_INVALID', file: join(dir, 'bad.yaml'), line: 3 });
  });
});
