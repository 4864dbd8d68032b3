import { ScopeSchema } from '@lumenflow/protocol';
import type { Scope, ScopeKind, ScopeRef } from '@lumenflow/protocol';
import { PolicyError } from './errors.js';

/** What a matcher sees: a scope after normalisation. */
export type NormalizedScope =
  | { kind: 'fs.read' | 'fs.write'; path: string }
  | { kind: 'shell.exec'; program: string; args: readonly string[] }
  | { kind: 'secret.read' | 'secret.write'; environment: string; name: string }
  | { kind: 'net.connect'; host: string; port: number }
  | { kind: 'pr.create'; repository: string; base: string };

const KINDS: readonly ScopeKind[] = ['fs.read', 'fs.write', 'shell.exec', 'secret.read', 'secret.write', 'net.connect', 'pr.create'];

/**
 * Parses the text form of a scope: `<kind>:<target>`, e.g. `fs.write:src/calc.ts`,
 * `shell.exec:node --test`, `secret.write:production/DATABASE_URL`,
 * `net.connect:example.com:443`, `pr.create:acme/calc@main`.
 *
 * @throws {PolicyError} SCOPE_INVALID when the kind is unknown or the target malformed.
 */
export function parseScope(text: string): Scope {
  if (typeof text !== 'string') throw new TypeError('parseScope: text must be a string');
  const colon = text.indexOf(':');
  if (colon < 0) throw scopeError(`"${text}" has no ":"; expected <kind>:<target>, e.g. fs.read:src/calc.ts`);
  const kind = text.slice(0, colon) as ScopeKind;
  const target = text.slice(colon + 1);
  if (!KINDS.includes(kind)) throw scopeError(`unknown scope kind "${text.slice(0, colon)}"; expected one of ${KINDS.join(', ')}`);
  switch (kind) {
    case 'fs.read':
    case 'fs.write':
      // An empty or odd path is still a scope: the evaluator denies it with a
      // reserved id, so the refusal is recorded rather than lost as a parse error.
      return { kind, path: target };
    case 'shell.exec': {
      const words = splitCommandLine(target);
      if (words === undefined) throw scopeError('shell.exec: unterminated quote in the command line');
      const [program, ...args] = words;
      if (program === undefined || program === '') throw scopeError('shell.exec: expected a program, e.g. shell.exec:node --test');
      return { kind, program, args };
    }
    case 'secret.read':
    case 'secret.write': {
      const slash = target.indexOf('/');
      const environment = slash < 0 ? '' : target.slice(0, slash);
      const name = slash < 0 ? '' : target.slice(slash + 1);
      if (environment === '' || name === '') throw scopeError(`${kind}: expected <environment>/<NAME>, e.g. production/DATABASE_URL`);
      return { kind, environment, name };
    }
    case 'net.connect': {
      const match = /^(\[[^\]]+\]|[^:]+):([0-9]{1,5})$/.exec(target);
      const port = match ? Number(match[2]) : NaN;
      if (!match || !Number.isInteger(port) || port < 1 || port > 65535) {
        throw scopeError('net.connect: expected <host>:<port> with a port from 1 to 65535, e.g. example.com:443');
      }
      return { kind, host: match[1] as string, port };
    }
    case 'pr.create': {
      const at = target.indexOf('@');
      const repository = at < 0 ? '' : target.slice(0, at);
      const base = at < 0 ? '' : target.slice(at + 1);
      if (!/^[^/\s]+\/[^/\s]+$/.test(repository) || base === '') {
        throw scopeError('pr.create: expected <owner>/<name>@<base>, e.g. acme/calc@main');
      }
      return { kind, repository, base };
    }
  }
}

/**
 * Checks a scope object against the protocol schema.
 *
 * @throws {PolicyError} SCOPE_INVALID naming the first problem.
 */
export function assertScope(scope: unknown): asserts scope is Scope {
  const result = ScopeSchema.safeParse(scope);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    throw scopeError(`${where}${issue?.message ?? 'not a scope'}`);
  }
}

/** The `{ kind, target }` a record names a scope by. The target is the scope as requested, before normalisation. */
export function toScopeRef(scope: Scope): ScopeRef {
  return { kind: scope.kind, target: formatTarget(scope) };
}

/** The text form `<kind>:<target>`, which {@link parseScope} reads back to the same scope. */
export function formatScope(scope: Scope): string {
  return `${scope.kind}:${formatTarget(scope)}`;
}

/** The target words of a scope, requested or normalised, as {@link parseScope} reads them. */
export function formatTarget(scope: Scope | NormalizedScope): string {
  switch (scope.kind) {
    case 'fs.read':
    case 'fs.write':
      return scope.path;
    case 'shell.exec':
      return [scope.program, ...scope.args].map(quoteWord).join(' ');
    case 'secret.read':
    case 'secret.write':
      return `${scope.environment}/${scope.name}`;
    case 'net.connect':
      return `${scope.host}:${scope.port}`;
    case 'pr.create':
      return `${scope.repository}@${scope.base}`;
  }
}

/** Quotes a word for the command-line text form only when it needs it. */
export function quoteWord(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * Splits a command line into words the way a POSIX shell would for plain
 * words and quotes: single quotes are literal, double quotes allow `\"` and `\\`,
 * a backslash outside quotes escapes the next character. Nothing is expanded.
 * Returns undefined for an unterminated quote or trailing backslash.
 */
export function splitCommandLine(text: string): string[] | undefined {
  return scanCommandLine(text)?.words;
}

/**
 * Like {@link splitCommandLine}, and also reports whether the text uses any
 * shell feature beyond plain words and quotes (operators, redirection,
 * expansion, globbing, comments, assignments). A shell would give such text a
 * meaning other than "run these words", so it cannot be mapped safely.
 */
export function scanCommandLine(text: string): { words: string[]; hasShellSyntax: boolean } | undefined {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let hasShellSyntax = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === ' ' || c === '\t') {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
      i++;
      continue;
    }
    inWord = true;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) return undefined;
      current += text.slice(i + 1, end);
      i = end + 1;
      continue;
    }
    if (c === '"') {
      i++;
      for (;;) {
        if (i >= text.length) return undefined;
        const d = text[i] as string;
        if (d === '"') break;
        if (d === '$' || d === '`') hasShellSyntax = true;
        if (d === '\\' && i + 1 < text.length && /["\\$`]/.test(text[i + 1] as string)) {
          current += text[i + 1];
          i += 2;
          continue;
        }
        current += d;
        i++;
      }
      i++;
      continue;
    }
    if (c === '\\') {
      if (i + 1 >= text.length) return undefined;
      current += text[i + 1];
      i += 2;
      continue;
    }
    if (/[;&|<>()$`*?[\]{}~#!\n\r]/.test(c)) hasShellSyntax = true;
    // `NAME=value` as the first word is an environment assignment, not a program.
    if (c === '=' && words.length === 0 && /^[A-Za-z_][A-Za-z0-9_]*$/.test(current)) hasShellSyntax = true;
    current += c;
    i++;
  }
  if (inWord) words.push(current);
  return { words, hasShellSyntax };
}

function scopeError(message: string): PolicyError {
  return new PolicyError('SCOPE_INVALID', message);
}
