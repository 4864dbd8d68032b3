import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createRuleSet, evaluateScope } from '@lumenflow/policy';
import type { PolicyLayers, Rule, RuleMatch } from '@lumenflow/policy';
import type { Effect, Scope } from '@lumenflow/protocol';

const RANK: Record<Effect, number> = { allow: 0, approval_required: 1, deny: 2 };

const segment = fc.constantFrom('src', 'test', '.env', 'a.pem', '..', '.', '', '.git', 'SRC', 'calc.ts', 'x', '/', 'C:');
const pathArb = fc.array(segment, { maxLength: 5 }).chain((segs) => fc.constantFrom('/', '\\').map((sep) => segs.join(sep)));
const globArb = fc.constantFrom('**', 'src/**', '**/.env', '*.pem', '**/*.pem', '.git/**', 'src/*', 'test/**', '.', 'x', '{src,test}/**', '**/calc.ts');
const wordArb = fc.oneof(pathArb, fc.constantFrom('-c', '--test', 'cat .env', 'cat src/calc.ts', '-e', 'diff', "cat .env; true", '--x=.env'));
const programArb = fc.constantFrom('cat', 'node', 'git', 'sh', 'cp', 'env', 'make');
const effectArb = fc.constantFrom<Effect>('allow', 'deny', 'approval_required');

const matchArb: fc.Arbitrary<RuleMatch> = fc.oneof(
  fc.record({ kind: fc.constantFrom('fs.read' as const, 'fs.write' as const), path: globArb }),
  fc.record(
    { kind: fc.constant('shell.exec' as const), program: programArb, args: fc.array(fc.oneof(wordArb, fc.constant({ regex: '.*' })), { maxLength: 3 }) },
    { requiredKeys: ['kind', 'program'] },
  ),
  fc.record({ kind: fc.constantFrom('secret.read' as const, 'secret.write' as const), environment: fc.constantFrom('*', 'production', 'staging'), name: fc.constantFrom('*', 'DB_*', 'DB_URL') }),
  fc.record({ kind: fc.constant('net.connect' as const), host: fc.constantFrom('**', '*.example.com', 'example.com'), port: fc.constantFrom(443, 80) }),
);
const scopeArb: fc.Arbitrary<Scope> = fc.oneof(
  fc.record({ kind: fc.constantFrom('fs.read' as const, 'fs.write' as const), path: pathArb }),
  fc.record({ kind: fc.constant('shell.exec' as const), program: programArb, args: fc.array(wordArb, { maxLength: 4 }) }),
  fc.record({ kind: fc.constantFrom('secret.read' as const, 'secret.write' as const), environment: fc.constantFrom('production', 'staging', 'Production'), name: fc.constantFrom('DB_URL', 'db_url', 'X') }),
  fc.record({ kind: fc.constant('net.connect' as const), host: fc.constantFrom('example.com', 'api.example.com', 'EXAMPLE.com.', 'evil.com'), port: fc.constantFrom(443, 80) }),
);

let n = 0;
const ruleArb = (effect?: fc.Arbitrary<Effect>): fc.Arbitrary<Rule> =>
  fc.record({ effect: effect ?? effectArb, match: matchArb }).map(({ effect: e, match }) => ({ id: `p.rule-${++n}`, effect: e, match, reason: 'property' }));
const rulesArb = (effect?: fc.Arbitrary<Effect>) => fc.array(ruleArb(effect), { maxLength: 12 });
const set = (rules: Rule[], name: string) => createRuleSet({ version: 1, rules }, name);
const context = { workspaceRoot: '/w' };
const decide = (layers: PolicyLayers, scope: Scope) => evaluateScope(layers, scope, context);

describe('Rules properties', () => {
  it('adding a deny rule never loosens a decision (so a deny stays a deny)', () => {
    fc.assert(
      fc.property(rulesArb(), ruleArb(fc.constant('deny')), fc.nat(), scopeArb, (rules, extra, at, scope) => {
        const before = decide({ cloud: set(rules, 'c') }, scope);
        const withDeny = [...rules];
        withDeny.splice(at % (rules.length + 1), 0, extra);
        const after = decide({ cloud: set(withDeny, 'c') }, scope);
        expect(RANK[after.effect]).toBeGreaterThanOrEqual(RANK[before.effect]);
        if (before.effect === 'deny') expect(after.effect).toBe('deny');
      }),
      { numRuns: 400 },
    );
  });

  it('a local layer never loosens the Cloud decision', () => {
    fc.assert(
      fc.property(rulesArb(), rulesArb(), scopeArb, (cloudRules, localRules, scope) => {
        const cloud = set(cloudRules, 'c');
        const alone = decide({ cloud }, scope);
        const layered = decide({ cloud, local: set(localRules, 'l') }, scope);
        expect(RANK[layered.effect]).toBeGreaterThanOrEqual(RANK[alone.effect]);
      }),
      { numRuns: 400 },
    );
  });

  it('a local layer of only allow rules changes no effect', () => {
    fc.assert(
      fc.property(rulesArb(), rulesArb(fc.constant('allow')), scopeArb, (cloudRules, localRules, scope) => {
        const cloud = set(cloudRules, 'c');
        expect(decide({ cloud, local: set(localRules, 'l') }, scope).effect).toBe(decide({ cloud }, scope).effect);
      }),
      { numRuns: 300 },
    );
  });

  it('nothing is allowed without an allow rule in the Cloud policy', () => {
    fc.assert(
      fc.property(rulesArb(fc.constantFrom<Effect>('deny', 'approval_required')), rulesArb(), scopeArb, (cloudRules, localRules, scope) => {
        expect(decide({ cloud: set(cloudRules, 'c'), local: set(localRules, 'l') }, scope).effect).not.toBe('allow');
      }),
      { numRuns: 400 },
    );
  });

  it('every allow is decided by a matching Cloud allow rule', () => {
    fc.assert(
      fc.property(rulesArb(), rulesArb(), scopeArb, (cloudRules, localRules, scope) => {
        const decision = decide({ cloud: set(cloudRules, 'c'), local: set(localRules, 'l') }, scope);
        if (decision.effect !== 'allow') return;
        const decider = cloudRules.find((r) => r.id === decision.decidingRuleId);
        expect(decider?.effect).toBe('allow');
        expect(decision.matchedRuleIds).toContain(decision.decidingRuleId);
      }),
      { numRuns: 400 },
    );
  });

  it('no fs path is allowed outside the workspace, even under allow "**"', () => {
    const cloud = set([{ id: 'p.all', effect: 'allow', match: { kind: 'fs.read', path: '**' }, reason: 'all' }], 'c');
    fc.assert(
      fc.property(fc.oneof(pathArb, fc.string()), (path) => {
        const decision = decide({ cloud }, { kind: 'fs.read', path });
        if (decision.effect !== 'allow') return;
        // Independently: walk the segments and check the path never climbs above the root.
        expect(path).not.toBe('');
        expect(path.includes('\0')).toBe(false);
        let depth = 0;
        const rel = path.replace(/\\/g, '/').startsWith('/w/') ? path.replace(/\\/g, '/').slice(3) : path.replace(/\\/g, '/');
        expect(rel.startsWith('/') || /^[A-Za-z]:/.test(rel)).toBe(false);
        for (const seg of rel.split('/')) {
          if (seg === '..') depth--;
          else if (seg !== '' && seg !== '.') depth++;
          expect(depth).toBeGreaterThanOrEqual(0);
        }
      }),
      { numRuns: 500 },
    );
  });
});
