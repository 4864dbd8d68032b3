import { createRuleSet } from '@lumenflow/policy';
import type { Rule, RuleMatch, RuleSet } from '@lumenflow/policy';
import type { Effect } from '@lumenflow/protocol';

let counter = 0;

/** A rule with a generated id and reason, for tests that care only about match and effect. */
export function rule(effect: Effect, match: RuleMatch, id?: string): Rule {
  counter++;
  return { id: id ?? `test.rule-${counter}`, effect, match, reason: `test reason ${id ?? counter}` };
}

/** A RuleSet of the given rules, built the way a caller that generates rules would. */
export function ruleSet(rules: Rule[], fileName = 'test-rules.yaml'): RuleSet {
  return createRuleSet({ version: 1, rules }, fileName);
}
