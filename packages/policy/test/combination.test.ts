import { describe, expect, it } from 'vitest';
import { RESERVED_RULE_IDS, evaluateScope, parseScope } from '@lumenflow/policy';
import type { PolicyLayers } from '@lumenflow/policy';
import type { Effect } from '@lumenflow/protocol';
import { rule, ruleSet } from './helpers.js';

const read = (path: string) => ({ kind: 'fs.read' as const, path });

// Each row: the effects of rules matching fs.read src/a.ts in the Cloud layer
// and in the local layer (null: no local layer), and the expected outcome.
const TABLE: Array<{ cloud: Effect[]; local: Effect[] | null; effect: Effect; decider: 'cloud' | 'local' | 'default'; warns: boolean }> = [
  { cloud: [], local: null, effect: 'deny', decider: 'default', warns: false },
  { cloud: ['allow'], local: null, effect: 'allow', decider: 'cloud', warns: false },
  { cloud: ['approval_required'], local: null, effect: 'approval_required', decider: 'cloud', warns: false },
  { cloud: ['deny'], local: null, effect: 'deny', decider: 'cloud', warns: false },
  { cloud: ['allow', 'approval_required'], local: null, effect: 'approval_required', decider: 'cloud', warns: false },
  { cloud: ['approval_required', 'allow'], local: null, effect: 'approval_required', decider: 'cloud', warns: false },
  { cloud: ['allow', 'deny'], local: null, effect: 'deny', decider: 'cloud', warns: false },
  { cloud: ['deny', 'approval_required', 'allow'], local: null, effect: 'deny', decider: 'cloud', warns: false },
  { cloud: ['allow'], local: [], effect: 'allow', decider: 'cloud', warns: false },
  { cloud: ['allow'], local: ['allow'], effect: 'allow', decider: 'cloud', warns: false },
  { cloud: ['allow'], local: ['approval_required'], effect: 'approval_required', decider: 'local', warns: false },
  { cloud: ['allow'], local: ['deny'], effect: 'deny', decider: 'local', warns: false },
  { cloud: ['approval_required'], local: ['allow'], effect: 'approval_required', decider: 'cloud', warns: true },
  { cloud: ['approval_required'], local: ['deny'], effect: 'deny', decider: 'local', warns: false },
  { cloud: ['deny'], local: ['allow'], effect: 'deny', decider: 'cloud', warns: true },
  { cloud: ['deny'], local: ['approval_required'], effect: 'deny', decider: 'cloud', warns: true },
  { cloud: ['deny'], local: ['deny'], effect: 'deny', decider: 'cloud', warns: false },
  // Cloud silent: the default deny stands whatever the local layer says.
  { cloud: [], local: ['allow'], effect: 'deny', decider: 'default', warns: true },
  { cloud: [], local: ['approval_required'], effect: 'deny', decider: 'default', warns: false },
  { cloud: [], local: ['deny'], effect: 'deny', decider: 'local', warns: false },
];

describe('combination of effects and layers', () => {
  for (const row of TABLE) {
    const name = `cloud [${row.cloud.join(', ')}] + local ${row.local === null ? 'none' : `[${row.local.join(', ')}]`} -> ${row.effect} by ${row.decider}`;
    it(name, () => {
      const cloudRules = row.cloud.map((e, i) => rule(e, { kind: 'fs.read', path: 'src/**' }, `cloud.r${i}`));
      // An unrelated rule in each layer, so "no match" is not "no rules".
      cloudRules.push(rule('allow', { kind: 'fs.read', path: 'docs/**' }, 'cloud.unrelated'));
      const layers: PolicyLayers = { cloud: ruleSet(cloudRules) };
      if (row.local !== null) {
        layers.local = ruleSet(row.local.map((e, i) => rule(e, { kind: 'fs.read', path: 'src/*.ts' }, `local.r${i}`)), 'local.yaml');
      }
      const decision = evaluateScope(layers, read('src/a.ts'));
      expect(decision.effect, name).toBe(row.effect);
      if (row.decider === 'default') expect(decision.decidingRuleId).toBe(RESERVED_RULE_IDS.defaultDeny);
      else expect(decision.decidingRuleId.startsWith(`${row.decider}.`), decision.decidingRuleId).toBe(true);
      expect(decision.warnings.length > 0, JSON.stringify(decision.warnings)).toBe(row.warns);
      const expectedMatched = [...row.cloud.map((_, i) => `cloud.r${i}`), ...(row.local ?? []).map((_, i) => `local.r${i}`)];
      expect(decision.matchedRuleIds).toEqual(expectedMatched);
    });
  }

  it('the deciding rule is the first in file order among those with the strictest effect', () => {
    const layers = {
      cloud: ruleSet([
        rule('allow', { kind: 'fs.read', path: '**' }, 'org.a'),
        rule('deny', { kind: 'fs.read', path: 'src/**' }, 'org.b'),
        rule('deny', { kind: 'fs.read', path: '**/*.ts' }, 'org.c'),
      ]),
    };
    const decision = evaluateScope(layers, read('src/a.ts'));
    expect(decision.decidingRuleId).toBe('org.b');
    expect(decision.matchedRuleIds).toEqual(['org.a', 'org.b', 'org.c']);
  });

  it('a rule for another kind never matches', () => {
    const layers = { cloud: ruleSet([rule('allow', { kind: 'fs.write', path: '**' }, 'org.w')]) };
    const decision = evaluateScope(layers, read('src/a.ts'));
    expect(decision.effect).toBe('deny');
    expect(decision.matchedRuleIds).toEqual([]);
  });

  it('records the digest of the rules in force, which changes with the local layer', () => {
    const cloud = ruleSet([rule('allow', { kind: 'fs.read', path: '**' }, 'org.a')]);
    const local = ruleSet([rule('deny', { kind: 'fs.read', path: 'x' }, 'local.x')]);
    const a = evaluateScope({ cloud }, read('src/a.ts'));
    const b = evaluateScope({ cloud, local }, read('src/a.ts'));
    expect(a.policyDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(b.policyDigest).not.toBe(a.policyDigest);
  });

  it('judges every scope kind by its own fields', () => {
    const layers = {
      cloud: ruleSet([
        rule('allow', { kind: 'secret.read', environment: 'staging', name: 'API_*' }, 'org.s'),
        rule('allow', { kind: 'net.connect', host: '*.example.com', port: 443 }, 'org.n'),
        rule('approval_required', { kind: 'pr.create', repository: 'acme/*', base: 'main' }, 'org.p'),
      ]),
    };
    const cases: Array<[string, Effect]> = [
      ['secret.read:staging/API_KEY', 'allow'],
      ['secret.read:production/API_KEY', 'deny'],
      ['secret.write:staging/API_KEY', 'deny'],
      ['net.connect:api.example.com:443', 'allow'],
      ['net.connect:API.Example.COM.:443', 'allow'],
      ['net.connect:a.b.example.com:443', 'deny'],
      ['net.connect:api.example.com:80', 'deny'],
      ['net.connect:example.com:443', 'deny'],
      ['pr.create:acme/calc@main', 'approval_required'],
      ['pr.create:acme/calc@release', 'deny'],
      ['pr.create:other/calc@main', 'deny'],
    ];
    for (const [text, effect] of cases) expect(evaluateScope(layers, parseScope(text)).effect, text).toBe(effect);
  });

  it('denies by a reserved id when a string holds a NUL byte', () => {
    const layers = { cloud: ruleSet([rule('allow', { kind: 'secret.read', environment: '*', name: '*' }, 'org.s')]) };
    const decision = evaluateScope(layers, { kind: 'secret.read', environment: 'staging', name: 'A\0B' });
    expect(decision.effect).toBe('deny');
    expect(decision.decidingRuleId).toBe(RESERVED_RULE_IDS.invalidInput);
  });

  it('rejects a scope object that is not a scope', () => {
    const layers = { cloud: ruleSet([]) };
    expect(() => evaluateScope(layers, { kind: 'fs.delete', path: 'x' } as never)).toThrow(expect.objectContaining({ code: 'SCOPE_INVALID' }));
  });
});
