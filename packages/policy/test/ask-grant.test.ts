import { describe, expect, it } from 'vitest';
import { RESERVED_RULE_IDS, boundByAskGrant, createAskGrant, evaluateScope } from '@lumenflow/policy';
import type { Scope } from '@lumenflow/protocol';
import { rule, ruleSet } from './helpers.js';

const requested: Scope[] = [
  { kind: 'fs.read', path: 'src/calc.js' },
  { kind: 'fs.read', path: 'docs/**' },
  { kind: 'fs.write', path: './src/calc.js' },
  { kind: 'shell.exec', program: 'node', args: ['--test'] },
  { kind: 'pr.create', repository: 'acme/calc', base: 'main' },
];

describe('the Ask grant', () => {
  const grant = createAskGrant(requested);

  it('matches paths as globs after the same normalisation as a call', () => {
    expect(grant.covers({ kind: 'fs.read', path: 'src/calc.js' })).toBe(true);
    expect(grant.covers({ kind: 'fs.read', path: './src//calc.js' })).toBe(true);
    expect(grant.covers({ kind: 'fs.read', path: 'docs/a/b.md' })).toBe(true);
    expect(grant.covers({ kind: 'fs.write', path: 'src/calc.js' })).toBe(true);
    expect(grant.covers({ kind: 'fs.read', path: 'src/other.js' })).toBe(false);
    expect(grant.covers({ kind: 'fs.write', path: 'docs/a.md' })).toBe(false);
    expect(grant.covers({ kind: 'fs.read', path: 'SRC/calc.js' })).toBe(false);
    expect(grant.covers({ kind: 'fs.read', path: '../src/calc.js' })).toBe(false);
  });

  it('covers a directory read when a requested read lies under it, and never a write to it', () => {
    expect(grant.covers({ kind: 'fs.read', path: 'src' })).toBe(true);
    expect(grant.covers({ kind: 'fs.read', path: '.' })).toBe(true);
    expect(grant.covers({ kind: 'fs.read', path: 'test' })).toBe(false);
    expect(grant.covers({ kind: 'fs.write', path: 'src' })).toBe(false);
  });

  it('matches commands by exact program and arguments', () => {
    expect(grant.covers({ kind: 'shell.exec', program: 'node', args: ['--test'] })).toBe(true);
    expect(grant.covers({ kind: 'shell.exec', program: 'node', args: ['--test', 'x'] })).toBe(false);
    expect(grant.covers({ kind: 'shell.exec', program: 'node', args: [] })).toBe(false);
    expect(grant.covers({ kind: 'shell.exec', program: 'node --test', args: [] })).toBe(false);
  });

  it('matches other kinds by their exact target', () => {
    expect(grant.covers({ kind: 'pr.create', repository: 'acme/calc', base: 'main' })).toBe(true);
    expect(grant.covers({ kind: 'pr.create', repository: 'acme/calc', base: 'dev' })).toBe(false);
  });

  it('denies by policy.ask.out-of-scope what Rules alone allow, and keeps a Rules deny as it was', () => {
    const layers = { cloud: ruleSet([rule('allow', { kind: 'fs.read', path: '**' }, 'org.read'), rule('deny', { kind: 'fs.read', path: '**/.env' }, 'org.env')]) };
    const outside: Scope = { kind: 'fs.read', path: 'package.json' };
    const bounded = boundByAskGrant(evaluateScope(layers, outside), outside, grant);
    expect(bounded).toMatchObject({ effect: 'deny', decidingRuleId: RESERVED_RULE_IDS.askOutOfScope, matchedRuleIds: [] });
    expect(bounded.reason).toContain('package.json');
    const env: Scope = { kind: 'fs.read', path: '.env' };
    expect(boundByAskGrant(evaluateScope(layers, env), env, grant).decidingRuleId).toBe('org.env');
    const inside: Scope = { kind: 'fs.read', path: 'src/calc.js' };
    expect(boundByAskGrant(evaluateScope(layers, inside), inside, grant)).toMatchObject({ effect: 'allow', decidingRuleId: 'org.read' });
  });
});
