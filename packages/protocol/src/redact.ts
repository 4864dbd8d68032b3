import { SECRET_PATTERNS } from './secret-patterns.js';
import type { SecretPattern } from './secret-patterns.js';
import { FINDER_WINDOW, createLiteralFinder } from './literal-finder.js';
import type { LiteralFinder } from './literal-finder.js';

// The one redactor every evidence writer uses (docs/secrets.md). Pure and
// synchronous: it takes text or a record and hands back the redacted copy and
// what it did, never the values. Speed matters because it sits in front of
// every message and log line: candidates are found by a block-shift search
// (known values) and one expression of literal anchors (patterns); only there
// is a known form confirmed (longest match first) or a pattern tried (a sticky
// expression at the anchor).

/** Known values shorter than this are ignored: blanking a short string would blank ordinary text. */
export const MIN_SECRET_LENGTH = FINDER_WINDOW;

/** The kind a known value is redacted as when its holder gives none. */
export const KNOWN_SECRET_KIND = 'known-secret';

/** A value the caller holds as secret, e.g. a token or an environment variable marked secret. */
export interface KnownSecret {
  value: string;
  /** Lowercase letters, digits and `-`; default {@link KNOWN_SECRET_KIND}. Names a kind, never the value. */
  kind?: string;
}

/** What a redaction did to one record: never the values. */
export interface RedactionSummary {
  /** How many redactions. */
  count: number;
  /** Their kinds, sorted, each once. */
  kinds: string[];
  /** The dotted paths of the fields redacted (`tests[2].name`), sorted, each once; `""` for a bare string. */
  fields: string[];
}

export interface TextRedaction {
  text: string;
  count: number;
  kinds: string[];
}

export interface Redactor {
  /** Redacts a string: every known value (in each of its encodings) and every pattern match becomes `[REDACTED:<kind>]`. */
  redactText(text: string): TextRedaction;
  /**
   * Redacts every free-text string of a JSON value and says where. Fields the
   * Proof needs stay as they are: see {@link isProtectedField}.
   */
  redactValue<T>(value: T): { value: T; summary: RedactionSummary | undefined };
  /** The kind of the first secret in `text`, or undefined: for refusing content rather than redacting it. */
  findSecret(text: string): string | undefined;
  /** A redactor that also knows `values`. */
  withKnownValues(values: readonly KnownSecret[]): Redactor;
  /** How many distinct literal forms it matches (for benches and tests). */
  readonly literalCount: number;
}

export interface RedactorOptions {
  knownValues?: readonly KnownSecret[];
  /** Default {@link SECRET_PATTERNS}. */
  patterns?: readonly SecretPattern[];
}

const KIND = /^[a-z0-9][a-z0-9-]{0,63}$/;
const SHA256_DIGEST = /^sha256:[0-9a-f]{64}$/;
// Fields that carry what the Proof checks: signatures, public keys, digests and ids.
const PROTECTED_KEYS = new Set(['signature', 'publicKeyPem', 'schemaVersion', 'redaction', 'type']);
const PROTECTED_SUFFIX = /(?:Id|Hash|Sha256|Digest|Commit)$/;

/**
 * Whether a record field is left alone: `signature`, `publicKeyPem`,
 * `schemaVersion`, `type`, `redaction` and every key ending in `Id`, `Hash`,
 * `Sha256`, `Digest` or `Commit`, and any string that is exactly a
 * `sha256:<64 hex>` digest. These are schema-constrained (ids, digests,
 * base64 signatures) and are what a verifier recomputes.
 */
export function isProtectedField(key: string): boolean {
  return PROTECTED_KEYS.has(key) || PROTECTED_SUFFIX.test(key);
}

/**
 * Every form in which a known value can show up in output: as is; JSON-string
 * escaped; URL encoded (also with `+` for spaces); hex (both cases); base64 and
 * base64url at each of the three byte alignments it may have inside a longer
 * encoded stream (only the characters fully determined by the value); and each
 * of these for every line of a multi-line value. Forms shorter than
 * {@link MIN_SECRET_LENGTH} are dropped.
 */
export function encodeSecretForms(value: string): string[] {
  const forms = new Set<string>();
  const add = (form: string): void => {
    if (form.length >= MIN_SECRET_LENGTH) forms.add(form);
  };
  const lines = value.split(/\r?\n|\r/).map((line) => line.trim());
  const sources = new Set([value, value.replace(/\r?\n/g, '\r\n'), ...lines]);
  for (const source of sources) {
    if (source.length < MIN_SECRET_LENGTH) continue;
    add(source);
    add(JSON.stringify(source).slice(1, -1));
    add(encodeURIComponent(source));
    add(encodeURIComponent(source).replace(/%20/g, '+'));
    const bytes = Buffer.from(source, 'utf8');
    add(bytes.toString('hex'));
    add(bytes.toString('hex').toUpperCase());
    add(bytes.toString('base64'));
    for (let skip = 0; skip < 3; skip += 1) {
      const whole = Math.floor((bytes.length - skip) / 3) * 3;
      if (whole <= 0) continue;
      const core = bytes.subarray(skip, skip + whole);
      add(core.toString('base64'));
      add(core.toString('base64url'));
    }
  }
  return [...forms];
}

/** Creates a redactor for the built-in patterns and the given known values. @throws {TypeError} for a malformed kind. */
export function createRedactor(options: RedactorOptions = {}): Redactor {
  const known = options.knownValues ?? [];
  const patterns = options.patterns ?? SECRET_PATTERNS;
  const literalKinds = new Map<string, string>();
  for (const secret of known) {
    const kind = secret.kind ?? KNOWN_SECRET_KIND;
    if (!KIND.test(kind)) throw new TypeError(`createRedactor: kind ${JSON.stringify(kind)} must be lowercase letters, digits and -`);
    for (const form of encodeSecretForms(secret.value)) if (!literalKinds.has(form)) literalKinds.set(form, kind);
  }
  for (const p of patterns) {
    if (!KIND.test(p.kind)) throw new TypeError(`createRedactor: kind ${JSON.stringify(p.kind)} must be lowercase letters, digits and -`);
  }
  for (const p of patterns) {
    if (p.anchors.length === 0 || p.anchors.some((a) => a === '')) throw new TypeError(`createRedactor: pattern ${p.kind} needs non-empty anchors`);
  }
  // Candidates first, then a confirmation only there. Where a known form may
  // start is found by a block-shift search over the forms' first characters
  // (literal-finder.ts), which also confirms the longest form there; where a
  // pattern may start, by one expression of the patterns' anchors (plain
  // literals, which the engine scans fast), confirmed by the sticky
  // expression of the patterns. A known form wins over a pattern at the same
  // position. Every pattern match starts with an anchor, so this finds the
  // same leftmost matches as trying every alternative at every position.
  const sticky = new RegExp(patterns.map((p) => `(${p.source})`).join('|') || '(?!)', 'y');
  const patternKind = (match: RegExpExecArray): string => {
    for (let i = 0; i < patterns.length; i += 1) if (match[i + 1] !== undefined) return (patterns[i] as SecretPattern).kind;
    return KNOWN_SECRET_KIND;
  };
  const finder = literalKinds.size === 0 ? undefined : createLiteralFinder([...literalKinds.keys()]);
  const anchors = [...new Set(patterns.flatMap((p) => p.anchors))];
  const anchorScan = anchors.length === 0 ? undefined : new RegExp(anchors.map(escapeLiteral).join('|'), 'g');
  // Calls `onMatch` for each leftmost, non-overlapping match; stops early when it returns false.
  const scan = (text: string, onMatch: (at: number, length: number, kind: string) => boolean): void => {
    // The next candidate of each source at or after `pos`; -1 when there is none (it stays none).
    let knownAt = finder === undefined ? -1 : -2;
    let anchorAt = anchorScan === undefined ? -1 : -2;
    let pos = 0;
    for (;;) {
      if (knownAt !== -1 && knownAt < pos) knownAt = (finder as LiteralFinder).next(text, pos);
      if (anchorAt !== -1 && anchorAt < pos) {
        const re = anchorScan as RegExp;
        re.lastIndex = pos;
        const hit = re.exec(text);
        anchorAt = hit === null ? -1 : hit.index;
      }
      const at = knownAt === -1 ? anchorAt : anchorAt === -1 ? knownAt : Math.min(knownAt, anchorAt);
      if (at === -1) return;
      let length = 0;
      let kind = KNOWN_SECRET_KIND;
      const literal = at === knownAt ? (finder as LiteralFinder).longestAt(text, at) : undefined;
      if (literal !== undefined) {
        length = literal.length;
        kind = literalKinds.get(literal) ?? KNOWN_SECRET_KIND;
      } else if (at === anchorAt) {
        sticky.lastIndex = at;
        const match = sticky.exec(text);
        if (match !== null) {
          length = match[0].length;
          kind = patternKind(match);
        }
      }
      if (length === 0) {
        pos = at + 1;
        continue;
      }
      if (!onMatch(at, length, kind)) return;
      pos = at + length;
    }
  };
  // A placeholder changes only its edges: a pattern that ends just before it
  // or starts just after it may now see the word boundary it lacked. Only
  // then is another pass needed; a placeholder between delimiters needs none.
  // The edges are read in the input (a placeholder's own edges are `[` and
  // `]`), so the output is never read back while it is being built.
  const redactOnce = (text: string, kinds: Set<string>): { text: string; count: number; edgesChanged: boolean } => {
    let count = 0;
    let out = '';
    let last = 0;
    let edgesChanged = false;
    scan(text, (at, length, kind) => {
      count += 1;
      kinds.add(kind);
      if ((at > last && WORDISH.test(text.charAt(at - 1))) || WORDISH.test(text.charAt(at + length))) edgesChanged = true;
      out += text.slice(last, at);
      out += `[REDACTED:${kind}]`;
      last = at + length;
      return true;
    });
    return count === 0 ? { text, count, edgesChanged } : { text: out + text.slice(last), count, edgesChanged };
  };

  const redactText = (text: string): TextRedaction => {
    const kinds = new Set<string>();
    let { text: current, count: total, edgesChanged } = redactOnce(text, kinds);
    // Replacing a secret can give a pattern its word boundary; go on until nothing changes, so a second pass is a no-op.
    for (let round = 1; round < 8 && edgesChanged; round += 1) {
      const next = redactOnce(current, kinds);
      total += next.count;
      current = next.text;
      edgesChanged = next.count > 0 && next.edgesChanged;
    }
    return { text: current, count: total, kinds: [...kinds].sort() };
  };

  const redactValue = <T>(value: T): { value: T; summary: RedactionSummary | undefined } => {
    const kinds = new Set<string>();
    const fields = new Set<string>();
    let count = 0;
    const walk = (node: unknown, path: string): unknown => {
      if (typeof node === 'string') {
        if (SHA256_DIGEST.test(node)) return node;
        const result = redactText(node);
        if (result.count === 0) return node;
        count += result.count;
        for (const k of result.kinds) kinds.add(k);
        fields.add(path);
        return result.text;
      }
      if (Array.isArray(node)) {
        let changed = false;
        const out = node.map((item, i) => {
          const next = walk(item, `${path}[${i}]`);
          if (next !== item) changed = true;
          return next;
        });
        return changed ? out : node;
      }
      if (node !== null && typeof node === 'object') {
        let changed = false;
        const out: Record<string, unknown> = {};
        for (const [key, item] of Object.entries(node)) {
          const next = isProtectedField(key) ? item : walk(item, path === '' ? key : `${path}.${key}`);
          if (next !== item) changed = true;
          out[key] = next;
        }
        return changed ? out : node;
      }
      return node;
    };
    const out = walk(value, '') as T;
    if (count === 0) return { value, summary: undefined };
    return { value: out, summary: { count, kinds: [...kinds].sort(), fields: [...fields].sort() } };
  };

  const findSecret = (text: string): string | undefined => {
    let kind: string | undefined;
    scan(text, (_at, _length, found) => {
      kind = found;
      return false;
    });
    return kind;
  };

  return {
    redactText,
    redactValue,
    findSecret,
    withKnownValues: (values) => createRedactor({ knownValues: [...known, ...values], patterns }),
    literalCount: literalKinds.size,
  };
}

/** Merges two summaries of one record (e.g. a runtime's and Cloud's). */
export function mergeRedactionSummaries(a: RedactionSummary | undefined, b: RedactionSummary | undefined): RedactionSummary | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return {
    count: a.count + b.count,
    kinds: [...new Set([...a.kinds, ...b.kinds])].sort(),
    fields: [...new Set([...a.fields, ...b.fields])].sort(),
  };
}

const WORDISH = /^[A-Za-z0-9_-]$/;

function escapeLiteral(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}
