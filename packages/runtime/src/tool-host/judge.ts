import { boundByAskGrant, computePolicyDigest, evaluateScope } from '@lumenflow/policy';
import type { AskGrant, PolicyDecision, PolicyLayers } from '@lumenflow/policy';
import type { Scope, ScopeRef } from '@lumenflow/protocol';
import { createWorkspaceContext } from '../workspace-context.js';

/** One session's Rules: the Cloud and local layers on its workspace, bounded by the Ask's grant. */
export interface Judge {
  /** The decision on a scope; `grantScope` is what the grant is asked about when it differs from the scope Rules judge. */
  decide(scope: Scope, grantScope?: Scope): PolicyDecision;
  /** A deny the runtime gives by a reserved rule without consulting the rules files (a bad input). */
  refuse(scope: ScopeRef, ruleId: string, reason: string): PolicyDecision;
}

export function createJudge(opts: { layers: PolicyLayers; grant: AskGrant; workspaceDir: string }): Judge {
  const context = createWorkspaceContext(opts.workspaceDir);
  let digest: string | undefined;
  return {
    decide: (scope, grantScope = scope) => boundByAskGrant(evaluateScope(opts.layers, scope, context), grantScope, opts.grant),
    refuse: (scope, ruleId, reason) => ({
      scope,
      effect: 'deny',
      matchedRuleIds: [],
      decidingRuleId: ruleId,
      reason,
      policyDigest: (digest ??= computePolicyDigest(opts.layers)),
      warnings: [],
    }),
  };
}
