import { readFile } from 'node:fs/promises';
import { LineCounter, isMap, isNode, isPair, isScalar, isSeq, parseDocument, visit } from 'yaml';
import type { Document, Node as YamlNode } from 'yaml';
import { ProtocolError, canonicalizeToBytes, computeSha256Digest, omitUndefined, parseStrictJson } from '@lumenflow/protocol';
import type { Effect } from '@lumenflow/protocol';
import { PolicyError } from './errors.js';
import type { PolicyErrorCode } from './errors.js';
import { compileGlob, findGlobProblem } from './glob.js';
import { normalizeHostPattern } from './hosts.js';
import type { CompiledGlob } from './glob.js';
import { LOCAL_ONLY_KEYS } from './local-settings-schema.js';
import { RESERVED_ID_PREFIX, RulesDocumentSchema } from './rules-schema.js';
import type { NormalizedScope } from './scope.js';
import { toProgramName } from './shell.js';
import type { ArgPattern, Rule, RuleMatch, RulesDocument } from './rules-schema.js';

/** Validated rules from one file, with the file's name and the digest of its canonical form. */
export interface RuleSet {
  /** Where the rules came from, as given to the loader (shown in explanations and errors). */
  readonly fileName: string;
  readonly document: RulesDocument;
  readonly rules: readonly Rule[];
  /** `sha256:<hex>` of the RFC 8785 form of `document`. */
  readonly digest: string;
}

/** A rule compiled for matching. `exact` is true for a shell rule whose program and every argument are literals. */
export interface CompiledRule {
  readonly rule: Rule;
  readonly index: number;
  readonly exact: boolean;
  /** True for a shell rule that lists its arguments (literals or regexes) rather than allowing any. */
  readonly argsListed: boolean;
  readonly matcher: Matcher;
}

export type { NormalizedScope } from './scope.js';

export type Matcher = (scope: NormalizedScope) => boolean;

export interface CompiledRuleSet {
  readonly byKind: ReadonlyMap<string, readonly CompiledRule[]>;
}

const compiledSets = new WeakMap<RuleSet, CompiledRuleSet>();

/**
 * Reads a rules file; `.json` is parsed as strict JSON, `.yaml`/`.yml` as YAML.
 *
 * @throws {PolicyError} RULES_IO when unreadable, RULES_FORMAT for another
 *   extension, and every code {@link parseRules} throws.
 */
export async function loadRulesFile(path: string, opts: { local?: boolean } = {}): Promise<RuleSet> {
  if (typeof path !== 'string' || path === '') throw new TypeError('loadRulesFile: path must be a non-empty string');
  const format = formatFromName(path);
  let text: string;
  try {
    const bytes = await readFile(path);
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (cause) {
    const reason = cause instanceof TypeError ? 'is not valid UTF-8' : `cannot be read (${(cause as NodeJS.ErrnoException).code ?? 'error'})`;
    throw new PolicyError('RULES_IO', `${path}: rules file ${reason}`, { file: path, cause });
  }
  return parseRules(text, { fileName: path, format, ...omitUndefined({ local: opts.local }) });
}

function formatFromName(fileName: string): 'json' | 'yaml' {
  const lower = fileName.toLowerCase();
  if (lower.endsWith('.json')) return 'json';
  if (lower.endsWith('.yaml') || lower.endsWith('.yml')) return 'yaml';
  throw new PolicyError('RULES_FORMAT', `${fileName}: expected a .json, .yaml or .yml rules file`, { file: fileName });
}

/**
 * Parses and validates rules text. The format comes from `opts.format`, else the file name's extension.
 * `opts.local`: the file is a runtime's local layer, which alone may name
 * `agents` and `repositories` (in any other they are RULES_INVALID).
 *
 * @throws {PolicyError} RULES_SYNTAX, RULES_DUPLICATE_KEY, RULES_INVALID,
 *   RULES_DUPLICATE_ID, RULES_RESERVED_ID or RULES_BAD_PATTERN; the message
 *   starts with `file:line:column` and says what is wrong.
 */
export function parseRules(text: string, opts: { fileName: string; format?: 'json' | 'yaml'; local?: boolean }): RuleSet {
  if (typeof text !== 'string') throw new TypeError('parseRules: text must be a string');
  const fileName = opts.fileName;
  const format = opts.format ?? formatFromName(fileName);
  let value: unknown;
  let source: { doc: Document; lineCounter: LineCounter } | undefined;
  // JSON is YAML 1.2, so the YAML parser also gives positions for a JSON file;
  // it only runs when there is an error to place.
  const positions = (): { doc: Document; lineCounter: LineCounter } => (source ??= parseYaml(text));
  if (format === 'json') {
    try {
      value = parseStrictJson(text);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      const code: PolicyErrorCode = error.code === 'JSON_DUPLICATE_KEY' ? 'RULES_DUPLICATE_KEY' : 'RULES_SYNTAX';
      throw located(code, fileName, { line: error.line ?? 1, column: error.column ?? 1 }, error.message.replace(/ at line \d+, column \d+$/, ''), error);
    }
  } else {
    const { doc, lineCounter } = positions();
    const firstError = doc.errors[0];
    if (firstError) {
      const pos = firstError.linePos?.[0] ?? { line: 1, col: 1 };
      const code: PolicyErrorCode = firstError.code === 'DUPLICATE_KEY' ? 'RULES_DUPLICATE_KEY' : 'RULES_SYNTAX';
      const message = (firstError.message.split('\n')[0] ?? 'syntax error').replace(/ at line \d+, column \d+:?$/, '');
      throw located(code, fileName, { line: pos.line, column: pos.col }, message, firstError);
    }
    // An explicit tag (`!!js/function`, `!!binary`, `!custom`) asks the parser to
    // build something other than plain data; a rules file never needs one, and an
    // unknown tag is otherwise only a warning that leaves the value in place.
    let tagOffset: number | undefined;
    visit(doc, {
      Node(_key, node) {
        if ((node as { tag?: string }).tag === undefined) return undefined;
        // The node's range starts at its value; step back to the tag written before it.
        const valueStart = node.range?.[0] ?? 0;
        let at = text.lastIndexOf('!', valueStart);
        while (at > 0 && !/\s/.test(text[at - 1] as string)) at--;
        tagOffset = at < 0 ? valueStart : at;
        return visit.BREAK;
      },
    });
    if (tagOffset !== undefined) {
      const pos = lineCounter.linePos(tagOffset);
      throw located('RULES_SYNTAX', fileName, { line: pos.line, column: pos.col }, 'YAML tags (!tag, !!type) are not allowed in a rules file');
    }
    try {
      // Aliases let one node stand for many (and expand exponentially); a rules file has no use for them.
      value = doc.toJS({ maxAliasCount: 0 });
    } catch (error) {
      let offset = 0;
      visit(doc, {
        Alias(_key, node) {
          offset = node.range?.[0] ?? 0;
          return visit.BREAK;
        },
      });
      const pos = lineCounter.linePos(offset);
      throw located('RULES_SYNTAX', fileName, { line: pos.line, column: pos.col }, 'YAML aliases (*name) are not allowed in a rules file', error);
    }
  }
  const result = RulesDocumentSchema.safeParse(value);
  if (!result.success) {
    // A misspelt key also shows up as a missing one; naming the misspelling is the useful report.
    const issue = result.error.issues.find((i) => i.code === 'unrecognized_keys') ?? result.error.issues[0];
    const path = (issue?.path ?? []).filter((p): p is string | number => typeof p !== 'symbol');
    let keyName: string | undefined;
    let message = issue?.message ?? 'invalid rules file';
    if (issue?.code === 'unrecognized_keys') {
      keyName = issue.keys[0];
      message = `unknown key "${keyName ?? ''}"`;
    } else if (valueAt(value, path) === undefined && path.length > 0) {
      message = `missing required key "${String(path[path.length - 1])}"`;
    } else if (issue?.code === 'invalid_union' && path[path.length - 1] !== 'kind' && isKindProblem(value, path)) {
      path.push('kind');
      message = 'unknown or missing match kind; expected fs.read, fs.write, shell.exec, secret.read, secret.write, net.connect or pr.create';
    }
    const where = locate(positions(), path, keyName);
    throw located('RULES_INVALID', fileName, where, `${formatPath(path)}: ${message}`, result.error, formatPath(path));
  }
  const document = result.data;
  checkIdsAndPatterns(document, opts.local === true, (path, code, message) => {
    throw located(code, fileName, locate(positions(), path), `${formatPath(path)}: ${message}`, undefined, formatPath(path));
  });
  return buildRuleSet(document, fileName);
}

/**
 * Builds a RuleSet from an already-parsed document (for callers that generate rules in code).
 *
 * @throws {PolicyError} RULES_INVALID and the other rule codes, without positions.
 */
export function createRuleSet(document: unknown, fileName: string, opts: { local?: boolean } = {}): RuleSet {
  const result = RulesDocumentSchema.safeParse(document);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = (issue?.path ?? []).filter((p): p is string | number => typeof p !== 'symbol');
    throw new PolicyError('RULES_INVALID', `${fileName}: ${formatPath(path)}: ${issue?.message ?? 'invalid'}`, {
      file: fileName,
      path: formatPath(path),
    });
  }
  checkIdsAndPatterns(result.data, opts.local === true, (path, code, message) => {
    throw new PolicyError(code, `${fileName}: ${formatPath(path)}: ${message}`, { file: fileName, path: formatPath(path) });
  });
  return buildRuleSet(result.data, fileName);
}

/**
 * Rebuilds a RuleSet from its `document` as sent over the wire (the Cloud
 * ships `ruleSet.document`; the runtime revalidates it, since a transport is
 * not a trust boundary the engine should lean on). The digest comes out equal.
 *
 * @throws {PolicyError} RULES_INVALID and the other rule codes, without positions.
 */
export function parseRuleSet(value: unknown, fileName = 'cloud-dispatch'): RuleSet {
  return createRuleSet(value, fileName);
}

function buildRuleSet(document: RulesDocument, fileName: string): RuleSet {
  const digest = computeSha256Digest(canonicalizeToBytes(document));
  const ruleSet: RuleSet = Object.freeze({ fileName, document, rules: document.rules, digest });
  deepFreeze(document);
  compiledSets.set(ruleSet, compileRuleSet(document.rules));
  return ruleSet;
}

/** The compiled form of a RuleSet; built once per set. */
export function getCompiledRuleSet(ruleSet: RuleSet): CompiledRuleSet {
  let compiled = compiledSets.get(ruleSet);
  if (compiled === undefined) {
    // A RuleSet assembled by hand rather than by this module: validate it the same way.
    compiled = getCompiledRuleSet(createRuleSet(ruleSet.document, ruleSet.fileName, { local: true }));
    compiledSets.set(ruleSet, compiled);
  }
  return compiled;
}

type Report = (path: Array<string | number>, code: PolicyErrorCode, message: string) => never;

function checkIdsAndPatterns(document: RulesDocument, local: boolean, report: Report): void {
  // Agents and repositories are the runtime's own business: a Cloud policy cannot hand them out.
  if (!local) {
    for (const key of LOCAL_ONLY_KEYS) {
      if (document[key] !== undefined) report([key], 'RULES_INVALID', `only a runtime's local rules file may name ${key}`);
    }
  }
  const seen = new Map<string, number>();
  document.rules.forEach((rule, i) => {
    if (rule.id.startsWith(RESERVED_ID_PREFIX)) {
      report(['rules', i, 'id'], 'RULES_RESERVED_ID', `"${rule.id}" is in the reserved "${RESERVED_ID_PREFIX}" namespace`);
    }
    const first = seen.get(rule.id);
    if (first !== undefined) report(['rules', i, 'id'], 'RULES_DUPLICATE_ID', `"${rule.id}" is already the id of rules[${first}]`);
    seen.set(rule.id, i);
    for (const [field, pattern] of globFields(rule.match)) {
      const problem = findGlobProblem(pattern);
      if (problem !== undefined) report(['rules', i, 'match', field], 'RULES_BAD_PATTERN', problem);
    }
    if (rule.match.kind === 'shell.exec') {
      rule.match.args?.forEach((arg, j) => {
        if (typeof arg === 'string') return;
        try {
          new RegExp(arg.regex, 'u');
        } catch (error) {
          report(['rules', i, 'match', 'args', j, 'regex'], 'RULES_BAD_PATTERN', `regex does not compile: ${(error as Error).message}`);
        }
      });
    }
  });
}

function globFields(match: RuleMatch): Array<[string, string]> {
  switch (match.kind) {
    case 'fs.read':
    case 'fs.write':
      return [['path', match.path]];
    case 'secret.read':
    case 'secret.write':
      return [
        ['environment', match.environment],
        ['name', match.name],
      ];
    case 'net.connect':
      return [['host', match.host]];
    case 'pr.create':
      return [
        ['repository', match.repository],
        ['base', match.base],
      ];
    case 'shell.exec':
      return [];
  }
}

// Tightening rules (deny, approval_required) match case-insensitively: on a
// case-insensitive filesystem `.ENV` is `.env`, and a deny must not be dodged
// by spelling. Allow rules match exactly, so a spelling can never widen them.
function compileRuleSet(rules: readonly Rule[]): CompiledRuleSet {
  const byKind = new Map<string, CompiledRule[]>();
  rules.forEach((rule, index) => {
    const compiled = compileRule(rule, index);
    const list = byKind.get(rule.match.kind) ?? [];
    list.push(compiled);
    byKind.set(rule.match.kind, list);
  });
  return { byKind };
}

function compileRule(rule: Rule, index: number): CompiledRule {
  const ci = isTightening(rule.effect);
  const m = rule.match;
  const glob = (pattern: string, separator = '/'): CompiledGlob => compileGlob(pattern, { separator, caseInsensitive: ci });
  switch (m.kind) {
    case 'fs.read':
    case 'fs.write': {
      const g = glob(m.path);
      return { rule, index, exact: false, argsListed: false, matcher: (s) => s.kind === m.kind && g.test(s.path) };
    }
    case 'secret.read':
    case 'secret.write': {
      const env = glob(m.environment);
      const name = glob(m.name);
      return { rule, index, exact: false, argsListed: false, matcher: (s) => s.kind === m.kind && env.test(s.environment) && name.test(s.name) };
    }
    case 'net.connect': {
      // Host names are case-insensitive whatever the effect; scopes arrive lowercased.
      const host = compileGlob(normalizeHostPattern(m.host), { separator: '.', caseInsensitive: true });
      const port = m.port;
      return { rule, index, exact: false, argsListed: false, matcher: (s) => s.kind === 'net.connect' && host.test(s.host) && (port === undefined || s.port === port) };
    }
    case 'pr.create': {
      const repo = glob(m.repository);
      const base = glob(m.base);
      return { rule, index, exact: false, argsListed: false, matcher: (s) => s.kind === 'pr.create' && repo.test(s.repository) && base.test(s.base) };
    }
    case 'shell.exec': {
      const program = ci ? m.program.toLowerCase() : m.program;
      const args = m.args?.map((a) => compileArg(a, ci));
      const exact = m.args !== undefined && m.args.every((a) => typeof a === 'string');
      // A deny on `git` must also stop `/usr/bin/git` and `git.exe`: the same
      // program by another name. An allow stays exact, so no name widens it.
      const byName = ci && !/[/\\]/.test(program);
      const matcher: Matcher = (s) => {
        if (s.kind !== 'shell.exec') return false;
        const given = ci ? s.program.toLowerCase() : s.program;
        if (given !== program && !(byName && toProgramName(given) === program)) return false;
        if (args === undefined) return true;
        if (s.args.length !== args.length) return false;
        for (let i = 0; i < args.length; i++) if (!(args[i] as (v: string) => boolean)(s.args[i] as string)) return false;
        return true;
      };
      return { rule, index, exact, argsListed: m.args !== undefined, matcher };
    }
  }
}

function compileArg(pattern: ArgPattern, ci: boolean): (value: string) => boolean {
  if (typeof pattern === 'string') {
    if (!ci) return (v) => v === pattern;
    const lower = pattern.toLowerCase();
    return (v) => v.toLowerCase() === lower;
  }
  // Anchored, so `[0-9a-f]{40}` cannot match a longer argument that merely contains a sha.
  const regex = new RegExp(`^(?:${pattern.regex})$`, ci ? 'iu' : 'u');
  return (v) => regex.test(v);
}

/** deny and approval_required tighten; allow loosens. */
export function isTightening(effect: Effect): boolean {
  return effect !== 'allow';
}

function parseYaml(text: string): { doc: Document; lineCounter: LineCounter } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: true, version: '1.2', strict: true });
  return { doc, lineCounter };
}

function valueAt(value: unknown, path: ReadonlyArray<string | number>): unknown {
  let node: unknown = value;
  for (const p of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[p];
  }
  return node;
}

function isKindProblem(value: unknown, path: Array<string | number>): boolean {
  const node = valueAt(value, path);
  return path[path.length - 1] === 'match' && node !== null && typeof node === 'object';
}

function formatPath(path: ReadonlyArray<string | number>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out === '' ? '(root)' : out;
}

function located(
  code: PolicyErrorCode,
  file: string,
  where: { line: number; column: number },
  message: string,
  cause?: unknown,
  path?: string,
): PolicyError {
  return new PolicyError(code, `${file}:${where.line}:${where.column}: ${message}`, { file, line: where.line, column: where.column, ...omitUndefined({ path, cause }) });
}

// Walks the YAML node tree along a zod issue path to the offending node; when
// the path runs past what exists (a missing key), the deepest node found is blamed.
function locate(
  { doc, lineCounter }: { doc: Document; lineCounter: LineCounter },
  path: ReadonlyArray<string | number>,
  keyName?: string,
): { line: number; column: number } {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  const walk = keyName === undefined ? path : [...path, keyName];
  for (let i = 0; i < walk.length; i++) {
    const step = walk[i];
    const last = i === walk.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(step));
      if (!pair) break;
      // An unknown key is blamed on the key itself; anything else on its value.
      const target = last && keyName !== undefined ? pair.key : (pair.value ?? pair.key);
      node = target;
      offset = rangeStart(target) ?? rangeStart(pair.key) ?? offset;
    } else if (isSeq(node) && typeof step === 'number') {
      const item = node.items[step];
      if (item === undefined) break;
      node = item;
      offset = rangeStart(item) ?? offset;
    } else {
      break;
    }
  }
  const pos = lineCounter.linePos(offset);
  return { line: pos.line, column: pos.col };
}

function rangeStart(node: unknown): number | undefined {
  return isNode(node) ? (node as YamlNode).range?.[0] : undefined;
}

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const item of Object.values(value)) deepFreeze(item);
}
