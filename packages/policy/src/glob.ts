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

/** Compiles a glob; `separator` is `/` for paths and repositories, `.` for host names. */
export function compileGlob(pattern: string, options: { separator: string; caseInsensitive: boolean }): CompiledGlob {
  // `s`: a file name may hold a newline, and `.*` must still cover it.
  // Paths are compared in NFC; a pattern typed in NFD must mean the same name.
  const regex = new RegExp(`^${globToRegexSource(pattern.normalize('NFC'), options.separator)}$`, options.caseInsensitive ? 'isu' : 'su');
  return { source: pattern, test: (text) => regex.test(text) };
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

function globToRegexSource(pattern: string, separator: string): string {
  const sep = escapeRegex(separator);
  const notSep = `[^${sep}]`;
  let out = '';
  let i = 0;
  let inBraces = false;
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
    } else if (c === '{') {
      inBraces = true;
      out += '(?:';
    } else if (c === '}' && inBraces) {
      inBraces = false;
      out += ')';
    } else if (c === ',' && inBraces) {
      out += '|';
    } else {
      out += escapeRegex(c);
    }
    i++;
  }
  return out;
}
