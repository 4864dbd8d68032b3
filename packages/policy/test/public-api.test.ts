import { describe, expect, it } from 'vitest';
import * as policy from '@lumenflow/policy';
import { PolicyDecisionRecordSchema } from '@lumenflow/protocol';
import { rule, ruleSet } from './helpers.js';

describe('@lumenflow/policy public API', () => {
  it('exports exactly the documented values', () => {
    expect(Object.keys(policy).sort()).toEqual(
      [
        'DEFAULT_SECRET_FILES',
        'EnvNameSchema',
        'PolicyError',
        'RESERVED_ID_PREFIX',
        'RESERVED_RULE_IDS',
        'RuleMatchSchema',
        'RuleSchema',
        'RulesDocumentSchema',
        'analyzeShellCommand',
        'boundByAskGrant',
        'canonicalizeHost',
        'computePolicyDigest',
        'createAskGrant',
        'createRuleSet',
        'describeMatch',
        'evaluateScope',
        'explainScope',
        'formatExplanation',
        'formatScope',
        'isSecretFile',
        'loadRulesFile',
        'parseRuleSet',
        'parseRules',
        'parseScope',
        'resolveWorkspacePath',
        'secretFilePatterns',
        'splitCommandLine',
        'toDecisionRecord',
        'toScopeRef',
      ].sort(),
    );
  });

  it('reserved ids all live in the namespace rule files may not use', () => {
    for (const id of Object.values(policy.RESERVED_RULE_IDS)) expect(id.startsWith(policy.RESERVED_ID_PREFIX)).toBe(true);
  });

  it('toDecisionRecord makes a valid policy-decisions.jsonl line', () => {
    const layers = { cloud: ruleSet([rule('allow', { kind: 'fs.read', path: 'src/**' }, 'org.src')]) };
    const decision = policy.evaluateScope(layers, { kind: 'fs.read', path: 'src/a.ts' });
    const meta = { decisionId: 'dec_0001', timestamp: '2026-11-23T10:00:00.000Z', runId: 'run_1', askId: 'ask_1', evaluatedAt: 'runtime' as const, toolCallId: 'call_0001' };
    const record = policy.toDecisionRecord(decision, meta);
    expect(PolicyDecisionRecordSchema.parse(record)).toEqual(record);
    expect(record).toMatchObject({ schemaVersion: 1, effect: 'allow', decidingRuleId: 'org.src', matchedRuleIds: ['org.src'], toolCallId: 'call_0001' });
    const { toolCallId: _omit, ...cloudMeta } = meta;
    expect('toolCallId' in policy.toDecisionRecord(decision, { ...cloudMeta, evaluatedAt: 'cloud' })).toBe(false);
    expect(() => policy.toDecisionRecord(decision, { ...meta, decisionId: '../x' })).toThrow(TypeError);
  });

  it('PolicyError carries a literal code and position fields', () => {
    const error = new policy.PolicyError('RULES_INVALID', 'x', { file: 'f.yaml', line: 2, column: 3 });
    expect(error).toBeInstanceOf(Error);
    expect([error.code, error.file, error.line, error.column]).toEqual(['RULES_INVALID', 'f.yaml', 2, 3]);
  });

  it('formatExplanation names the deciding rule and every rule considered', () => {
    const layers = {
      cloud: ruleSet([rule('allow', { kind: 'fs.read', path: 'src/**' }, 'org.src'), rule('deny', { kind: 'fs.read', path: '**/.env' }, 'org.env')]),
      local: ruleSet([rule('allow', { kind: 'fs.read', path: '.env' }, 'local.env')], 'local.yaml'),
    };
    const explanation = policy.explainScope(layers, policy.parseScope('fs.read:.env'));
    expect(explanation.decision.decidingRuleId).toBe('org.env');
    expect(explanation.decision.warnings).toHaveLength(1);
    expect(explanation.checks[0]?.considered.map((c) => [c.layer, c.id, c.matched])).toEqual([
      ['cloud', 'org.src', false],
      ['cloud', 'org.env', true],
      ['local', 'local.env', true],
    ]);
    const text = policy.formatExplanation(explanation);
    expect(text).toContain('=> [cloud] org.env');
    expect(text).toContain('WARNING');
  });
});
