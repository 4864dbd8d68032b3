import type { Scope } from '@lumenflow/protocol';
import { RESERVED_RULE_IDS } from './evaluate.js';
import type { PolicyDecision } from './evaluate.js';
import { compileGlob } from './glob.js';
import type { CompiledGlob } from './glob.js';
import { resolveWorkspacePath } from './paths.js';
import { toScopeRef } from './scope.js';

/**
 * What a session may do at all: the scopes its Ask requested, as Cloud's Rules
 * let them through at dispatch (an Ask with a denied scope never starts).
 * Rules decide whether a call is allowed; the grant bounds which calls can be.
 */
export interface AskGrant {
  /** True when the call's scope is one the Ask requested (see {@link createAskGrant} for how). */
  covers(scope: Scope): boolean;
}

/**
 * The grant of an Ask's requested scopes. How a call's scope is matched:
 * - `fs.read` / `fs.write`: the requested path is a glob (the Rules dialect,
 *   case-sensitive) matched against the call's normalised workspace path. An
 *   `fs.read` of a directory (a listing, a search) is covered when a requested
 *   `fs.read` path lies under that directory.
 * - `shell.exec`: the exact program and the exact arguments, in order.
 * - every other kind: the same kind and the same target (`production/DATABASE_URL`).
 */
export function createAskGrant(requested: readonly Scope[]): AskGrant {
  const globs: Record<'fs.read' | 'fs.write', Array<{ pattern: string; glob: CompiledGlob }>> = { 'fs.read': [], 'fs.write': [] };
  const exact = new Set<string>();
  for (const scope of requested) {
    if (scope.kind === 'fs.read' || scope.kind === 'fs.write') {
      const pattern = normalisePattern(scope.path);
      globs[scope.kind].push({ pattern, glob: compileGlob(pattern, { separator: '/', caseInsensitive: false }) });
    } else {
      exact.add(exactKey(scope));
    }
  }
  return {
    covers(scope) {
      if (scope.kind !== 'fs.read' && scope.kind !== 'fs.write') return exact.has(exactKey(scope));
      const resolved = resolveWorkspacePath(scope.path);
      if (!resolved.ok) return false;
      const path = resolved.path;
      return globs[scope.kind].some(({ pattern, glob }) => glob.test(path) || (scope.kind === 'fs.read' && isUnder(pattern, path)));
    },
  };
}

/**
 * A Rules decision bounded by the grant: a call Rules would allow (or hold for
 * approval) but the Ask did not request is denied by `policy.ask.out-of-scope`.
 * A deny stays the deny Rules gave, which names the rule an operator can read.
 */
export function boundByAskGrant(decision: PolicyDecision, scope: Scope, grant: AskGrant): PolicyDecision {
  if (decision.effect === 'deny' || grant.covers(scope)) return decision;
  return {
    ...decision,
    effect: 'deny',
    matchedRuleIds: [],
    decidingRuleId: RESERVED_RULE_IDS.askOutOfScope,
    reason: `the Ask did not request ${decision.scope.kind} ${decision.scope.target}; a session may use only the scopes its Ask requested`,
  };
}

function exactKey(scope: Scope): string {
  // shell.exec compares program and arguments as a list, never as a joined string.
  if (scope.kind === 'shell.exec') return JSON.stringify(['shell.exec', scope.program, scope.args]);
  const ref = toScopeRef(scope);
  return JSON.stringify([ref.kind, ref.target]);
}

// The same spelling rules as a call's path (`./src/x`, `src//x`), wildcards untouched.
function normalisePattern(path: string): string {
  const segments = path.replace(/\\/g, '/').split('/').filter((s) => s !== '' && s !== '.');
  return segments.length === 0 ? '.' : segments.join('/');
}

// `src` holds `src/calc.js` and `src/**`; the workspace root `.` holds everything.
function isUnder(pattern: string, directory: string): boolean {
  return directory === '.' || pattern.startsWith(`${directory}/`);
}
