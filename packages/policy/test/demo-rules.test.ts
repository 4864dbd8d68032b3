import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateScope, loadRulesFile, parseScope } from '@lumenflow/policy';
import type { PolicyLayers, RuleSet } from '@lumenflow/policy';
import type { Effect, Scope } from '@lumenflow/protocol';

const rulesDir = resolve(import.meta.dirname, '..', '..', '..', 'scripts', 'demo', 'rules');
const SHA = '3f786850e387550fdab836ed7e6dc881de23001b';

let cloud: RuleSet;
let local: RuleSet;
beforeAll(async () => {
  cloud = await loadRulesFile(resolve(rulesDir, 'cloud-policy.yaml'));
  local = await loadRulesFile(resolve(rulesDir, 'runtime-local.yaml'));
});

// Exactly the calls the demo runtime makes, and the scopes its Asks request.
const DEMO: Array<{ scope: Scope; effect: Effect; by?: string }> = [
  { scope: { kind: 'fs.read', path: 'src/calc.js' }, effect: 'allow', by: 'org.fs.source.read' },
  { scope: { kind: 'fs.read', path: 'test/calc.test.js' }, effect: 'allow', by: 'org.fs.tests.read' },
  { scope: { kind: 'fs.write', path: 'src/calc.js' }, effect: 'allow', by: 'org.fs.source.write' },
  { scope: { kind: 'shell.exec', program: 'node', args: ['--test'] }, effect: 'allow', by: 'org.shell.node-test' },
  { scope: { kind: 'shell.exec', program: 'node', args: ['--test', '--test-reporter=tap'] }, effect: 'allow', by: 'org.shell.node-test-tap' },
  { scope: { kind: 'shell.exec', program: 'git', args: ['diff', '--no-color', '--no-ext-diff', '--no-textconv', '--binary', '--full-index', SHA] }, effect: 'allow', by: 'org.shell.git-diff' },
  { scope: { kind: 'pr.create', repository: 'lumenflow-demo/calc', base: 'main' }, effect: 'approval_required', by: 'org.pr.calc.main.approval' },
  { scope: { kind: 'secret.write', environment: 'production', name: 'DATABASE_URL' }, effect: 'deny', by: 'org.secrets.production.deny-write' },
];

const GUARDS: Array<[string, Effect, string]> = [
  ['fs.read:.env', 'deny', 'org.fs.dotenv.deny-read'],
  ['fs.read:src/.env.local', 'deny', 'org.fs.dotenv.deny-read'],
  ['fs.write:.env', 'deny', 'org.fs.dotenv.deny-write'],
  ['fs.read:certs/server.pem', 'deny', 'org.fs.keys.deny-read'],
  ['fs.read:src/key.PEM', 'deny', 'org.fs.keys.deny-read'],
  ['fs.write:.git/hooks/pre-commit', 'deny', 'org.fs.git.deny-write'],
  ['fs.write:.git', 'deny', 'org.fs.git.deny-write'],
  ['fs.write:src/.git/config', 'deny', 'org.fs.git.deny-write'],
  ['secret.read:production/DATABASE_URL', 'deny', 'org.secrets.production.deny-read'],
  ['secret.read:staging/DATABASE_URL', 'deny', 'policy.default.deny'],
  ['net.connect:registry.npmjs.org:443', 'allow', 'org.net.npm-registry'],
  ['net.connect:api.github.com:443', 'allow', 'org.net.github-api'],
  ['net.connect:registry.npmjs.org:80', 'deny', 'policy.default.deny'],
  ['net.connect:evil.example:443', 'deny', 'policy.default.deny'],
  ['shell.exec:git diff --no-color --ext-diff 3f786850e387550fdab836ed7e6dc881de23001b', 'deny', 'policy.default.deny'],
  // Without --no-textconv a diff driver's textconv command could run.
  ['shell.exec:git diff --no-color --no-ext-diff 3f786850e387550fdab836ed7e6dc881de23001b', 'deny', 'policy.default.deny'],
  ['shell.exec:git diff --no-color --no-ext-diff --textconv 3f786850e387550fdab836ed7e6dc881de23001b', 'deny', 'policy.default.deny'],
  ['shell.exec:git -c core.pager=sh diff --no-color --no-ext-diff --no-textconv 3f786850e387550fdab836ed7e6dc881de23001b', 'deny', 'policy.default.deny'],
  ['shell.exec:cat .env', 'deny', 'org.fs.dotenv.deny-read'],
  ['shell.exec:node --test .env', 'deny', 'org.fs.dotenv.deny-read'],
  ['pr.create:lumenflow-demo/calc@release', 'deny', 'policy.default.deny'],
];

describe('the demo Cloud policy', () => {
  for (const c of DEMO) {
    it(`${c.scope.kind} ${JSON.stringify(c.scope)} -> ${c.effect}`, () => {
      const decision = evaluateScope({ cloud }, c.scope, { workspaceRoot: '/tmp/ws' });
      expect(decision.effect, decision.reason).toBe(c.effect);
      expect(decision.decidingRuleId).toBe(c.by);
      expect(decision.warnings).toEqual([]);
    });
  }
  for (const [text, effect, by] of GUARDS) {
    it(`${text} -> ${effect} by ${by}`, () => {
      const decision = evaluateScope({ cloud }, parseScope(text), { workspaceRoot: '/tmp/ws' });
      expect(decision.effect, decision.reason).toBe(effect);
      expect(decision.decidingRuleId).toBe(by);
    });
  }
  it('gives the secret denial a reason an operator can act on', () => {
    const decision = evaluateScope({ cloud }, parseScope('secret.write:production/DATABASE_URL'));
    expect(decision.reason).toMatch(/platform team/);
  });
});

describe('the demo runtime-local policy', () => {
  it('leaves every demo call as the Cloud policy decides it, without warnings', () => {
    const layers: PolicyLayers = { cloud, local };
    for (const c of DEMO) {
      const decision = evaluateScope(layers, c.scope, { workspaceRoot: '/tmp/ws' });
      expect(decision.effect, JSON.stringify(c.scope)).toBe(c.effect);
      expect(decision.warnings).toEqual([]);
    }
  });
  it('tightens: no network egress at all on this runtime', () => {
    const decision = evaluateScope({ cloud, local }, parseScope('net.connect:registry.npmjs.org:443'));
    expect(decision.effect).toBe('deny');
    expect(decision.decidingRuleId).toBe('runtime.net.no-egress');
    expect(decision.matchedRuleIds).toEqual(['org.net.npm-registry', 'runtime.net.no-egress']);
  });
});
