import { PolicyDecisionRecordSchema, formatIssuePath, omitUndefined } from '@lumenflow/protocol';
import type { Effect, PolicyDecisionRecord, Scope, ScopeRef } from '@lumenflow/protocol';
import { computePolicyDigest } from './digest.js';
import type { PolicyLayers } from './digest.js';
import { resolveWorkspacePath } from './paths.js';
import type { EvaluationContext } from './paths.js';
import { canonicalizeHost } from './hosts.js';
import { getCompiledRuleSet } from './rules-file.js';
import type { CompiledRule, NormalizedScope, RuleSet } from './rules-file.js';
import type { RuleMatch } from './rules-schema.js';
import { assertScope, formatTarget, quoteWord, toScopeRef } from './scope.js';
import { analyzeShellCommand } from './shell.js';
import type { ShellAnalysis } from './shell.js';

/**
 * Ids the engine decides by when no rule file can. Files may not use the
 * `policy.` namespace, so a record naming one of these was the engine's own call.
 */
export const RESERVED_RULE_IDS = {
  /** Nothing in the Cloud policy allows the scope: fail closed. */
  defaultDeny: 'policy.default.deny',
  /** The path leads outside the workspace (by `..`, an absolute path or a symlink). */
  outsideWorkspace: 'policy.boundary.outside-workspace',
  /** The scope is malformed in a way that can never be allowed: an empty path, a NUL byte. */
  invalidInput: 'policy.input.invalid',
  /** A program whose file arguments Rules do not understand, allowed only by a rule that lists its arguments. */
  unmappedProgram: 'policy.shell.unmapped-program',
  /** Inline code or shell syntax, allowed only by a rule that spells out every argument literally. */
  opaqueCommand: 'policy.shell.opaque-command',
  /** A write into git metadata (`.git` at any depth): hooks, config and refs are never a tool's to change. */
  gitMetadata: 'policy.boundary.git-metadata',
  /** A tool process changed more workspace paths than the runtime judges one by one; every change was reverted. */
  tooManyChanges: 'policy.boundary.too-many-changes',
  /** Rules alone would let the call through, but the Ask the session serves did not request its scope. */
  askOutOfScope: 'policy.ask.out-of-scope',
  /** The runtime's local rules file names no agent of the Ask's name: the runtime refuses the session (recorded as its decision). */
  agentUnknown: 'policy.runtime.agent-unknown',
  /** The runtime does not serve the Ask's repository at its base branch (not configured, not a git repository, no such branch). */
  repositoryNotServed: 'policy.runtime.repository-not-served',
} as const;

/** One Rules decision on one scope. */
export interface PolicyDecision {
  scope: ScopeRef;
  effect: Effect;
  /** Every rule whose match held, Cloud first, in file order, without repeats. */
  matchedRuleIds: string[];
  /** The rule that decided, or one of {@link RESERVED_RULE_IDS}. */
  decidingRuleId: string;
  /** For the operator: why. */
  reason: string;
  policyDigest: string;
  /** e.g. a local rule that tried to loosen the Cloud policy. */
  warnings: string[];
}

/** How one rule fared against one check. */
export interface RuleConsideration {
  layer: 'cloud' | 'local';
  id: string;
  effect: Effect;
  /** The rule's match, in words (`fs.read path "src/**"`). */
  match: string;
  matched: boolean;
  /** False for a matching rule that could not count here (see `note`). */
  counted: boolean;
  note?: string;
}

/** One scope the engine judged on the way to a decision: the request itself, a symlink target, or a path a command touches. */
export interface ExplanationCheck {
  label: string;
  scope: ScopeRef;
  /** `full`: default deny applies. `tighten-only`: only deny and approval_required rules count. */
  mode: 'full' | 'tighten-only';
  effect: Effect | null;
  decidingRuleId: string | null;
  reason: string;
  considered: RuleConsideration[];
}

/** Everything behind a decision, as data. */
export interface Explanation {
  decision: PolicyDecision;
  layers: Array<{ layer: 'cloud' | 'local'; fileName: string; digest: string; ruleCount: number }>;
  checks: ExplanationCheck[];
  notes: string[];
}

const RANK: Record<Effect, number> = { allow: 0, approval_required: 1, deny: 2 };

type Layer = 'cloud' | 'local';
interface MatchedRule {
  layer: Layer;
  compiled: CompiledRule;
}
interface CheckResult extends ExplanationCheck {
  matched: MatchedRule[];
  warnings: string[];
}
type Eligibility = 'any' | 'args-listed' | 'literal';

/**
 * Decides a scope under the layered Rules: deny beats approval_required beats
 * allow, nothing matching means deny, and the local layer can only tighten.
 *
 * @throws {PolicyError} SCOPE_INVALID when `scope` is not a scope object.
 */
export function evaluateScope(layers: PolicyLayers, scope: Scope, context?: EvaluationContext): PolicyDecision {
  return run(layers, scope, context ?? {}, false).decision;
}

/**
 * The same decision as {@link evaluateScope}, with every rule considered, which matched, which decided, and why.
 *
 * @throws {PolicyError} SCOPE_INVALID when `scope` is not a scope object.
 */
export function explainScope(layers: PolicyLayers, scope: Scope, context?: EvaluationContext): Explanation {
  const { decision, checks, notes } = run(layers, scope, context ?? {}, true);
  const layerInfo: Explanation['layers'] = [{ layer: 'cloud', fileName: layers.cloud.fileName, digest: layers.cloud.digest, ruleCount: layers.cloud.rules.length }];
  if (layers.local) layerInfo.push({ layer: 'local', fileName: layers.local.fileName, digest: layers.local.digest, ruleCount: layers.local.rules.length });
  return {
    decision,
    layers: layerInfo,
    checks: checks.map((c) => ({
      label: c.label,
      scope: c.scope,
      mode: c.mode,
      effect: c.effect,
      decidingRuleId: c.decidingRuleId,
      reason: c.reason,
      considered: c.considered,
    })),
    notes,
  };
}

/**
 * One line of policy-decisions.jsonl for a decision.
 *
 * @throws {TypeError} when `meta` does not make a valid record (bad id or timestamp).
 */
export function toDecisionRecord(
  decision: PolicyDecision,
  meta: { decisionId: string; timestamp: string; runId: string; askId: string; evaluatedAt: 'cloud' | 'runtime'; toolCallId?: string },
): PolicyDecisionRecord {
  const record = {
    schemaVersion: 1 as const,
    decisionId: meta.decisionId,
    timestamp: meta.timestamp,
    runId: meta.runId,
    askId: meta.askId,
    evaluatedAt: meta.evaluatedAt,
    scope: { kind: decision.scope.kind, target: decision.scope.target },
    effect: decision.effect,
    matchedRuleIds: [...decision.matchedRuleIds],
    decidingRuleId: decision.decidingRuleId,
    reason: decision.reason,
    policyDigest: decision.policyDigest,
    ...omitUndefined({ toolCallId: meta.toolCallId }),
    warnings: [...decision.warnings],
  };
  const result = PolicyDecisionRecordSchema.safeParse(record);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new TypeError(`toDecisionRecord: ${formatIssuePath(issue?.path ?? [])}: ${issue?.message ?? 'invalid record'}`);
  }
  return result.data;
}

// Any path segment `.git`, in any case: a case-insensitive file system would take `.GIT/hooks` as `.git/hooks`.
function isGitMetadata(path: string): boolean {
  return path.split('/').some((segment) => segment.toLowerCase() === '.git');
}

function run(layers: PolicyLayers, scope: Scope, context: EvaluationContext, explain: boolean): { decision: PolicyDecision; checks: CheckResult[]; notes: string[] } {
  if (layers === null || typeof layers !== 'object' || layers.cloud === undefined) throw new TypeError('evaluateScope: layers.cloud is required');
  assertScope(scope);
  const ref = toScopeRef(scope);
  const policyDigest = computePolicyDigest(layers);
  const notes: string[] = [];
  const checks: CheckResult[] = [];
  const ctx: Ctx = { layers, explain };
  // A write into git metadata that the rule files would allow is denied all the same.
  let gitWrite: string | undefined;

  const reserved = (id: string, reason: string): { decision: PolicyDecision; checks: CheckResult[]; notes: string[] } => {
    checks.push(reservedDeny('requested scope', ref, id, reason));
    return { decision: { scope: ref, effect: 'deny', matchedRuleIds: [], decidingRuleId: id, reason, policyDigest, warnings: [] }, checks, notes };
  };

  switch (scope.kind) {
    case 'fs.read':
    case 'fs.write': {
      const resolved = resolveWorkspacePath(scope.path, context);
      if (!resolved.ok) {
        return resolved.problem === 'outside'
          ? reserved(RESERVED_RULE_IDS.outsideWorkspace, `${resolved.detail}; Rules never allow a path outside the workspace`)
          : reserved(RESERVED_RULE_IDS.invalidInput, `${resolved.detail}; such a path is always denied`);
      }
      if (scope.kind === 'fs.write' && [resolved.path, ...resolved.aliases].some(isGitMetadata)) gitWrite = resolved.path;
      notes.push(...resolved.notes);
      checks.push(check(ctx, 'requested scope', { kind: scope.kind, path: resolved.path }, 'full', 'any'));
      for (const alias of resolved.aliases) checks.push(check(ctx, `symlink target ${alias}`, { kind: scope.kind, path: alias }, 'full', 'any'));
      break;
    }
    case 'shell.exec': {
      if ([scope.program, ...scope.args].some((w) => w.includes('\0'))) {
        return reserved(RESERVED_RULE_IDS.invalidInput, 'the command holds a NUL byte; such a command is always denied');
      }
      const analysis = analyzeShellCommand(scope.program, scope.args);
      notes.push(...analysis.notes);
      const eligibility: Eligibility = analysis.mapping === 'mapped' ? 'any' : analysis.mapping === 'unmapped' ? 'args-listed' : 'literal';
      const primary = check(ctx, 'requested scope', { kind: 'shell.exec', program: scope.program, args: scope.args }, 'full', eligibility);
      if (primary.effect === 'deny' && primary.decidingRuleId === RESERVED_RULE_IDS.defaultDeny && primary.matched.some((m) => m.compiled.rule.effect === 'allow')) {
        // An allow rule matched but was too loose for this command; say so rather than "nothing matched".
        primary.decidingRuleId = analysis.mapping === 'opaque' ? RESERVED_RULE_IDS.opaqueCommand : RESERVED_RULE_IDS.unmappedProgram;
        primary.reason = shellLooseReason(analysis);
      }
      checks.push(primary);
      addShellChecks(ctx, analysis, context, checks, scope.program);
      break;
    }
    case 'secret.read':
    case 'secret.write': {
      // A name with spaces, control characters, separators or glob characters is
      // not a secret's name but an attempt to slip past a pattern (`DATABASE_URL `
      // would miss a deny on DATABASE_URL yet may reach the same secret).
      if (!isPlainName(scope.environment) || !isPlainName(scope.name)) {
        return reserved(RESERVED_RULE_IDS.invalidInput, `${JSON.stringify(`${scope.environment}/${scope.name}`)} is not a plain <environment>/<NAME>; such a scope is always denied`);
      }
      checks.push(check(ctx, 'requested scope', { kind: scope.kind, environment: scope.environment, name: scope.name }, 'full', 'any'));
      break;
    }
    case 'net.connect': {
      const host = canonicalizeHost(scope.host);
      if (host === undefined) return reserved(RESERVED_RULE_IDS.invalidInput, `${JSON.stringify(scope.host)} is not a host name or IP address; such a scope is always denied`);
      if (host !== scope.host) notes.push(`host taken as ${host}`);
      checks.push(check(ctx, 'requested scope', { kind: 'net.connect', host, port: scope.port }, 'full', 'any'));
      break;
    }
    case 'pr.create': {
      const pr = canonicalizePullRequest(scope.repository, scope.base);
      if (pr === undefined) {
        return reserved(RESERVED_RULE_IDS.invalidInput, `${JSON.stringify(`${scope.repository}@${scope.base}`)} is not a plain <owner>/<name>@<branch>; such a scope is always denied`);
      }
      if (pr.repository !== scope.repository || pr.base !== scope.base) notes.push(`taken as ${pr.repository}@${pr.base}`);
      checks.push(check(ctx, 'requested scope', { kind: 'pr.create', ...pr }, 'full', 'any'));
      break;
    }
  }
  const decision = combineChecks(ref, checks, policyDigest);
  if (gitWrite !== undefined && decision.effect === 'allow') return reserved(RESERVED_RULE_IDS.gitMetadata, `${gitWrite} is git metadata; no tool call may write it`);
  return { decision, checks, notes };
}

// Secret names and environments are identifiers; anything else is refused outright.
function isPlainName(text: string): boolean {
  return text !== '' && !/[\s\p{C}/\\*?{}[\],]/u.test(text);
}

// GitHub names a repository `owner/name` whatever the case and with or without
// `.git`, and a branch `main` or `refs/heads/main`: each spelling is the same
// target, so each must meet the same approval. Names with spaces, control or
// glob characters are not repositories or branches.
function canonicalizePullRequest(repository: string, base: string): { repository: string; base: string } | undefined {
  const bad = /[\s\p{C}\\*?{}[\],~^:]/u;
  if (bad.test(repository) || bad.test(base)) return undefined;
  const repo = repository.replace(/\.git$/i, '');
  const parts = repo.split('/');
  if (parts.length !== 2 || parts.some((p) => p === '' || p === '.' || p === '..')) return undefined;
  const branch = base.replace(/^refs\/heads\//, '');
  if (branch === '' || branch.startsWith('/') || branch.endsWith('/') || branch.includes('//') || branch.includes('..')) return undefined;
  return { repository: repo, base: branch };
}

function shellLooseReason(analysis: ShellAnalysis): string {
  return analysis.mapping === 'opaque'
    ? 'the command runs inline code or shell syntax whose file access cannot be mapped; only a rule listing every argument literally can allow it'
    : 'Rules cannot map this program’s file access, so only a rule that lists its arguments can allow it; the matching rule allows any arguments';
}

function addShellChecks(ctx: Ctx, analysis: ShellAnalysis, context: EvaluationContext, checks: CheckResult[], program: string): void {
  const definite = new Set<string>();
  for (const p of analysis.paths) {
    const label = `${p.kind === 'fs.read' ? 'reads' : 'writes'} ${p.path} (${p.via})`;
    const resolved = resolveWorkspacePath(p.path, context);
    if (!resolved.ok) {
      const id = resolved.problem === 'outside' ? RESERVED_RULE_IDS.outsideWorkspace : RESERVED_RULE_IDS.invalidInput;
      checks.push(reservedDeny(label, { kind: p.kind, target: p.path }, id, resolved.detail));
      continue;
    }
    definite.add(`${p.kind}\0${resolved.path}`);
    checks.push(check(ctx, label, { kind: p.kind, path: resolved.path }, 'full', 'any'));
    for (const alias of resolved.aliases) checks.push(check(ctx, `${label} via symlink ${alias}`, { kind: p.kind, path: alias }, 'full', 'any'));
  }
  const seen = new Set<string>();
  for (const token of analysis.tokens) {
    const resolved = resolveWorkspacePath(token, context);
    if (!resolved.ok) {
      // A word that names a place outside the workspace (`-C ..`, `--output=/etc/x`,
      // `../secrets`) is refused whatever the rules say, as a path would be; a
      // program cannot be trusted to leave it alone. The program's own path and
      // a URL's `//host` are not such words.
      if (resolved.problem === 'outside' && token !== program && !token.startsWith('//') && !seen.has(`outside\0${token}`)) {
        seen.add(`outside\0${token}`);
        checks.push(
          reservedDeny(
            `argument ${quoteWord(token)}`,
            { kind: 'fs.read', target: token },
            RESERVED_RULE_IDS.outsideWorkspace,
            `${resolved.detail}; a command may not name a path outside the workspace`,
          ),
        );
      }
      continue;
    }
    for (const kind of ['fs.read', 'fs.write'] as const) {
      for (const path of [resolved.path, ...resolved.aliases]) {
        const key = `${kind}\0${path}`;
        if (definite.has(key) || seen.has(key)) continue;
        seen.add(key);
        const result = check(ctx, `argument ${quoteWord(token)} as ${kind} ${path}`, { kind, path }, 'tighten-only', 'any');
        // Only a tightening match matters for a token; keep the trace short otherwise.
        if (result.effect !== null || (ctx.explain && result.considered.some((c) => c.matched))) checks.push(result);
      }
    }
  }
}

// A deny the engine makes itself, before any rule is consulted.
function reservedDeny(label: string, scope: ScopeRef, id: string, reason: string): CheckResult {
  return { label, scope, mode: 'full', effect: 'deny', decidingRuleId: id, reason, matched: [], warnings: [], considered: [] };
}

interface Ctx {
  layers: PolicyLayers;
  explain: boolean;
}

interface LayerOutcome {
  effect: Effect | undefined;
  deciding: CompiledRule | undefined;
  matched: CompiledRule[];
}

function evalLayer(
  set: RuleSet,
  layer: Layer,
  scope: NormalizedScope,
  mode: 'full' | 'tighten-only',
  eligibility: Eligibility,
  considered: RuleConsideration[] | undefined,
): LayerOutcome {
  const rules = getCompiledRuleSet(set).byKind.get(scope.kind) ?? [];
  let effect: Effect | undefined;
  let deciding: CompiledRule | undefined;
  const matched: CompiledRule[] = [];
  for (const compiled of rules) {
    const isMatch = compiled.matcher(scope);
    const rule = compiled.rule;
    let counted = isMatch;
    let note: string | undefined;
    if (isMatch && rule.effect === 'allow') {
      if (mode === 'tighten-only') {
        counted = false;
        note = 'an allow rule cannot allow a path merely named in a command';
      } else if (eligibility === 'args-listed' && !compiled.argsListed) {
        counted = false;
        note = 'allows any arguments, which is not enough for a program Rules cannot map';
      } else if (eligibility === 'literal' && !compiled.exact) {
        counted = false;
        note = 'not an exact literal command, which inline code or shell syntax requires';
      }
    }
    if (isMatch && (counted || mode === 'full')) matched.push(compiled);
    if (counted && (effect === undefined || RANK[rule.effect] > RANK[effect])) {
      effect = rule.effect;
      deciding = compiled;
    }
    if (considered) {
      considered.push({ layer, id: rule.id, effect: rule.effect, match: describeMatch(rule.match), matched: isMatch, counted, ...omitUndefined({ note }) });
    }
  }
  return { effect, deciding, matched };
}

function check(ctx: Ctx, label: string, scope: NormalizedScope, mode: 'full' | 'tighten-only', eligibility: Eligibility): CheckResult {
  const considered: RuleConsideration[] | undefined = ctx.explain ? [] : undefined;
  const cloud = evalLayer(ctx.layers.cloud, 'cloud', scope, mode, eligibility, considered);
  const local = ctx.layers.local ? evalLayer(ctx.layers.local, 'local', scope, mode, eligibility, considered) : undefined;
  const ref = normalizedRef(scope);
  const matched: MatchedRule[] = [
    ...cloud.matched.map((compiled) => ({ layer: 'cloud' as const, compiled })),
    ...(local?.matched ?? []).map((compiled) => ({ layer: 'local' as const, compiled })),
  ];
  const warnings: string[] = [];
  const base = { label, scope: ref, mode, matched, warnings, considered: considered ?? [] };
  const target = `${ref.kind} ${ref.target}`;

  if (cloud.effect === undefined) {
    if (local?.effect === 'allow' && local.deciding) {
      warnings.push(`local rule ${local.deciding.rule.id} allows ${target}, but no Cloud rule does; a local layer can only tighten, so the default deny stands`);
    }
    // A local deny names itself; a local approval_required cannot lift the default deny to anything milder.
    if (local?.deciding && (local.effect === 'deny' || (mode === 'tighten-only' && local.effect === 'approval_required'))) {
      return { ...base, effect: local.effect ?? null, decidingRuleId: local.deciding.rule.id, reason: local.deciding.rule.reason };
    }
    if (mode === 'tighten-only') return { ...base, effect: null, decidingRuleId: null, reason: 'no deny or approval_required rule matches' };
    return {
      ...base,
      effect: 'deny',
      decidingRuleId: RESERVED_RULE_IDS.defaultDeny,
      reason: `no Cloud rule allows ${target}; Rules deny whatever is not explicitly allowed`,
    };
  }
  let decider = cloud.deciding as CompiledRule;
  let effect = cloud.effect;
  if (local?.effect !== undefined && local.deciding) {
    if (RANK[local.effect] > RANK[effect]) {
      decider = local.deciding;
      effect = local.effect;
    } else if (RANK[local.effect] < RANK[effect]) {
      warnings.push(
        `local rule ${local.deciding.rule.id} (${local.effect}) would loosen Cloud rule ${decider.rule.id} (${effect}) on ${target}; a local layer can only tighten, so the Cloud decision stands`,
      );
    }
  }
  return { ...base, effect, decidingRuleId: decider.rule.id, reason: decider.rule.reason };
}

function combineChecks(ref: ScopeRef, checks: CheckResult[], policyDigest: string): PolicyDecision {
  let decisive: CheckResult | undefined;
  for (const c of checks) {
    if (c.effect === null) continue;
    if (decisive === undefined || RANK[c.effect] > RANK[decisive.effect as Effect]) {
      decisive = c;
    } else if (RANK[c.effect] === RANK[decisive.effect as Effect] && isFallbackId(decisive.decidingRuleId) && !isFallbackId(c.decidingRuleId)) {
      // Equal effects: a named rule tells the operator more than "nothing allowed it".
      decisive = c;
    }
  }
  // The requested-scope check always has an effect, so `decisive` is set.
  const winner = decisive as CheckResult;
  const ids: string[] = [];
  const seen = new Set<string>();
  for (const c of checks) {
    for (const m of c.matched) {
      if (seen.has(m.compiled.rule.id)) continue;
      seen.add(m.compiled.rule.id);
      ids.push(m.compiled.rule.id);
    }
  }
  const warnings = [...new Set(checks.flatMap((c) => c.warnings))];
  const reason = winner.label === 'requested scope' ? winner.reason : `${winner.label}: ${winner.reason}`;
  return { scope: ref, effect: winner.effect as Effect, matchedRuleIds: ids, decidingRuleId: winner.decidingRuleId as string, reason, policyDigest, warnings };
}

// Reserved ids that only say "nothing allowed this"; any other decider says more.
function isFallbackId(id: string | null): boolean {
  return id === RESERVED_RULE_IDS.defaultDeny || id === RESERVED_RULE_IDS.unmappedProgram || id === RESERVED_RULE_IDS.opaqueCommand;
}

function normalizedRef(scope: NormalizedScope): ScopeRef {
  // A canonical IPv6 host comes without brackets; they go back so the port stays apart from it.
  if (scope.kind === 'net.connect' && scope.host.includes(':')) return { kind: scope.kind, target: `[${scope.host}]:${scope.port}` };
  return { kind: scope.kind, target: formatTarget(scope) };
}

/** A rule's match in words, for explanations. */
export function describeMatch(match: RuleMatch): string {
  switch (match.kind) {
    case 'fs.read':
    case 'fs.write':
      return `${match.kind} path ${JSON.stringify(match.path)}`;
    case 'shell.exec': {
      const args = match.args === undefined ? ' (any arguments)' : match.args.map((a) => (typeof a === 'string' ? ` ${quoteWord(a)}` : ` /${a.regex}/`)).join('');
      return `shell.exec ${quoteWord(match.program)}${args}`;
    }
    case 'secret.read':
    case 'secret.write':
      return `${match.kind} ${JSON.stringify(`${match.environment}/${match.name}`)}`;
    case 'net.connect':
      return `net.connect ${JSON.stringify(match.host)}${match.port === undefined ? ' (any port)' : `:${match.port}`}`;
    case 'pr.create':
      return `pr.create ${JSON.stringify(`${match.repository}@${match.base}`)}`;
  }
}
