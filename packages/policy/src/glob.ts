/**
 * A small glob dialect, compiled to anchored regular expressions.
 *
 * - `*` matches any run of characters within one segment (never the separator);
 * - `**` matches any run of characters across segments; as a whole segment
 *   (`**` + separator) it also matches zero segments, so `**` + `/.env` matches `.env`;
 * - `?` matches one character other than the separator;
 * - `{a,b}` matches either alternative (no nesting);
 * - every other character is literal. There are no character classes, so `[`
 *   in a file name needs no escaping.
 *
 * Dot files get no special treatment: `src/*` matches `src/.env`. A deny rule
 * that silently skipped dot files would be a bypass.
 */
export interface CompiledGlob {
  readonly source: string;
  test(text: string): boolean;
}

/**
 * Compiles a glob; `separator` is `/` for paths and repositories, `.` for host names.
 *
 * Matching runs the glob as a Thompson NFA over the text's code points, so it
 * takes time linear in the text for a given pattern. A backtracking regex
 * (what this compiled to before) takes exponential time on `*a*a*a*b` against
 * a long run of `a`: a rules file or a crafted path could stall every decision.
 */
export function compileGlob(pattern: string, options: { separator: string; caseInsensitive: boolean }): CompiledGlob {
  // Paths are compared in NFC; a pattern typed in NFD must mean the same name.
  const normalized = pattern.normalize('NFC');
  // With at most one wildcard and no alternatives an anchored regex cannot
  // backtrack more than linearly, and V8 runs it faster than the NFA. Two
  // wildcards, or braces (`{a,aa}` repeated is exponential), go to the NFA.
  if (!normalized.includes('{') && (normalized.match(/\*+/g) ?? []).length <= 1) {
    // `s`: a file name may hold a newline, and `.*` must still cover it.
    const regex = new RegExp(`^${globToRegexSource(normalized, options.separator)}$`, options.caseInsensitive ? 'isu' : 'su');
    return { source: pattern, test: (text) => regex.test(text) };
  }
  const fold = options.caseInsensitive ? (c: string): string => c.toLowerCase() : (c: string): string => c;
  const nfa = buildNfa(normalized, options.separator, fold);
  return { source: pattern, test: (text) => runNfa(nfa, text, fold) };
}

type NfaState =
  | { type: 'char'; char: string; next: number }
  | { type: 'not-sep'; next: number }
  | { type: 'any'; next: number }
  | { type: 'split'; next: number; alt: number }
  | { type: 'match' };

interface Nfa {
  states: NfaState[];
  start: number;
  separator: string;
}

// Built back to front: each piece is given the state it continues to and returns its entry.
function buildNfa(pattern: string, separator: string, fold: (c: string) => string): Nfa {
  const states: NfaState[] = [{ type: 'match' }];
  const add = (state: NfaState): number => states.push(state) - 1;
  const chars = Array.from(pattern);
  const pieces: Array<(next: number) => number> = [];
  let i = 0;
  let alternatives: Array<Array<(next: number) => number>> | undefined;
  let current = pieces;
  const push = (piece: (next: number) => number): void => {
    current.push(piece);
  };
  while (i < chars.length) {
    const c = chars[i] as string;
    if (c === '*' && chars[i + 1] === '*') {
      const atSegmentStart = i === 0 || chars[i - 1] === separator;
      if (atSegmentStart && chars[i + 2] === separator) {
        // `**/` : zero or more whole segments.
        push((next) => {
          const sep = add({ type: 'char', char: separator, next });
          const loop = add({ type: 'split', next: -1, alt: sep });
          const anyState = add({ type: 'any', next: loop });
          (states[loop] as { next: number }).next = anyState;
          return add({ type: 'split', next: loop, alt: next });
        });
        i += 3;
      } else {
        push((next) => {
          const loop = add({ type: 'split', next: -1, alt: next });
          (states[loop] as { next: number }).next = add({ type: 'any', next: loop });
          return loop;
        });
        i += 2;
      }
      continue;
    }
    if (c === '*') {
      push((next) => {
        const loop = add({ type: 'split', next: -1, alt: next });
        (states[loop] as { next: number }).next = add({ type: 'not-sep', next: loop });
        return loop;
      });
    } else if (c === '?') {
      push((next) => add({ type: 'not-sep', next }));
    } else if (c === '{' && alternatives === undefined) {
      alternatives = [[]];
      current = alternatives[0] as Array<(next: number) => number>;
    } else if (c === ',' && alternatives !== undefined) {
      current = [];
      alternatives.push(current);
    } else if (c === '}' && alternatives !== undefined) {
      const branches = alternatives;
      alternatives = undefined;
      current = pieces;
      push((next) => {
        const entries = branches.map((branch) => chain(branch, next));
        let entry = entries[entries.length - 1] as number;
        for (let k = entries.length - 2; k >= 0; k--) entry = add({ type: 'split', next: entries[k] as number, alt: entry });
        return entry;
      });
    } else {
      const literal = fold(c);
      push((next) => add({ type: 'char', char: literal, next }));
    }
    i++;
  }
  return { states, start: chain(pieces, 0), separator };
}

function chain(pieces: ReadonlyArray<(next: number) => number>, next: number): number {
  let entry = next;
  for (let k = pieces.length - 1; k >= 0; k--) entry = (pieces[k] as (n: number) => number)(entry);
  return entry;
}

// Each state's epsilon closure, as the consuming states it reaches and whether it reaches the match.
interface Closure {
  consuming: number[];
  matches: boolean;
}

const closures = new WeakMap<Nfa, Closure[]>();

function closuresOf(nfa: Nfa): Closure[] {
  let table = closures.get(nfa);
  if (table !== undefined) return table;
  table = nfa.states.map((_, index) => {
    const seen = new Set<number>();
    const consuming: number[] = [];
    let matches = false;
    const stack = [index];
    while (stack.length > 0) {
      const at = stack.pop() as number;
      if (seen.has(at)) continue;
      seen.add(at);
      const state = nfa.states[at] as NfaState;
      if (state.type === 'split') stack.push(state.alt, state.next);
      else if (state.type === 'match') matches = true;
      else consuming.push(at);
    }
    return { consuming, matches };
  });
  closures.set(nfa, table);
  return table;
}

function runNfa(nfa: Nfa, text: string, fold: (c: string) => string): boolean {
  const { states, separator } = nfa;
  const table = closuresOf(nfa);
  // Generation marks instead of fresh sets: one array for the whole run.
  const mark = new Uint32Array(states.length);
  let generation = 1;
  let active = (table[nfa.start] as Closure).consuming.slice();
  let matches = (table[nfa.start] as Closure).matches;
  for (const raw of text) {
    const c = fold(raw);
    generation++;
    const next: number[] = [];
    matches = false;
    for (const at of active) {
      const state = states[at] as NfaState;
      if (state.type === 'char' ? state.char === c : state.type === 'any' || (state.type === 'not-sep' && raw !== separator)) {
        const closure = table[(state as { next: number }).next] as Closure;
        if (closure.matches) matches = true;
        for (const to of closure.consuming) {
          if (mark[to] === generation) continue;
          mark[to] = generation;
          next.push(to);
        }
      }
    }
    if (next.length === 0 && !matches) return false;
    active = next;
  }
  return matches;
}

/**
 * Checks a glob for problems the compiler would otherwise paper over.
 * Returns a description of the problem, or undefined when the glob is fine.
 */
export function findGlobProblem(pattern: string): string | undefined {
  if (pattern.length === 0) return 'empty pattern';
  if (pattern.includes('\0')) return 'pattern holds a NUL byte';
  let depth = 0;
  for (const c of pattern) {
    if (c === '{') {
      if (depth > 0) return 'nested "{" is not supported';
      depth++;
    } else if (c === '}') {
      if (depth === 0) return 'unbalanced "}"';
      depth--;
    }
  }
  if (depth !== 0) return 'unclosed "{"';
  if (/\*{3,}/.test(pattern)) return '"***" is not a pattern; use "**"';
  return undefined;
}

function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, (c) => `\\${c}`);
}

// Only for patterns without braces (see compileGlob): `{`, `}` and `,` never reach here as syntax.
function globToRegexSource(pattern: string, separator: string): string {
  const sep = escapeRegex(separator);
  const notSep = `[^${sep}]`;
  let out = '';
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i] as string;
    if (c === '*' && pattern[i + 1] === '*') {
      const atSegmentStart = i === 0 || pattern[i - 1] === separator;
      const followedBySep = pattern[i + 2] === separator;
      if (atSegmentStart && followedBySep) {
        // `**/` : zero or more whole segments.
        out += `(?:.*${sep})?`;
        i += 3;
      } else {
        out += '.*';
        i += 2;
      }
      continue;
    }
    if (c === '*') {
      out += `${notSep}*`;
    } else if (c === '?') {
      out += notSep;
    } else {
      out += escapeRegex(c);
    }
    i++;
  }
  return out;
}
