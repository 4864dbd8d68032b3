export { PolicyError } from './errors.js';
export { parseScope, toScopeRef, formatScope, splitCommandLine } from './scope.js';
export { parseRules, loadRulesFile, createRuleSet, parseRuleSet } from './rules-file.js';
export { RulesDocumentSchema, RuleSchema, RuleMatchSchema, RESERVED_ID_PREFIX } from './rules-schema.js';
export { computePolicyDigest } from './digest.js';
export { evaluateScope, explainScope, toDecisionRecord, describeMatch, RESERVED_RULE_IDS } from './evaluate.js';
export { boundByAskGrant, createAskGrant } from './ask-grant.js';
export { formatExplanation } from './format-explanation.js';
export { resolveWorkspacePath } from './paths.js';
export { analyzeShellCommand } from './shell.js';

export type { PolicyErrorCode } from './errors.js';
export type { RuleSet } from './rules-file.js';
export type { ArgPattern, Rule, RuleMatch, RulesDocument } from './rules-schema.js';
export type { AskGrant } from './ask-grant.js';
export type { PolicyLayers } from './digest.js';
export type { EvaluationContext, PathResolution } from './paths.js';
export type { PolicyDecision, Explanation, ExplanationCheck, RuleConsideration } from './evaluate.js';
export type { ShellAnalysis } from './shell.js';
