// Finds where any of many literals may start, fast: the redactor's prefilter
// for known values (docs/secrets.md). A block-shift search (Wu–Manber): only
// each literal's first `window` characters are looked for (the shortest
// literal's length, at most MAX_WINDOW); the scan reads the last BLOCK
// characters of a window and, unless some literal has those characters at
// some place in its prefix, jumps ahead by as much as it can without stepping
// over a start. Ordinary text is read a few characters in every window, not
// each one, which a regular expression of hundreds of alternatives cannot do.

/** Every literal handed to {@link createLiteralFinder} is at least this long. */
export const FINDER_WINDOW = 8;
// Longer windows jump further and meet fewer false starts; past this, gains are small.
const MAX_WINDOW = 16;
const BLOCK = 3;
const TABLE_BITS = 16;
const TABLE_MASK = (1 << TABLE_BITS) - 1;

/** Where a literal may start; a candidate still has to be confirmed by the caller. */
export interface LiteralFinder {
  /** The first index `>= from` at which one of the literals' prefixes occurs, or -1. */
  next(text: string, from: number): number;
  /** The longest literal that occurs in `text` at `at`, or undefined. */
  longestAt(text: string, at: number): string | undefined;
}

function blockHash(c1: number, c2: number, c3: number): number {
  return (Math.imul(c1, 0x9e3) ^ Math.imul(c2, 0x3b) ^ c3) & TABLE_MASK;
}

/** @throws {RangeError} when a literal is shorter than {@link FINDER_WINDOW}. */
export function createLiteralFinder(literals: readonly string[]): LiteralFinder {
  for (const literal of literals) {
    if (literal.length < FINDER_WINDOW) throw new RangeError(`createLiteralFinder: literals must be at least ${FINDER_WINDOW} characters`);
  }
  const window = Math.min(MAX_WINDOW, ...literals.map((l) => l.length));
  const shift = new Uint8Array(TABLE_MASK + 1).fill(window - BLOCK + 1);
  // Each prefix's literals, longest first.
  const prefixes = new Map<string, string[]>();
  for (const literal of [...new Set(literals)].sort((a, b) => b.length - a.length)) {
    const prefix = literal.slice(0, window);
    const same = prefixes.get(prefix);
    if (same === undefined) prefixes.set(prefix, [literal]);
    else same.push(literal);
    // A block ending at `end` of the prefix allows a jump of the characters after it.
    for (let end = BLOCK - 1; end < window; end += 1) {
      const h = blockHash(prefix.charCodeAt(end - 2), prefix.charCodeAt(end - 1), prefix.charCodeAt(end));
      const s = window - 1 - end;
      if (s < (shift[h] as number)) shift[h] = s;
    }
  }
  return {
    next(text, from) {
      if (prefixes.size === 0) return -1;
      const length = text.length;
      // `last` is the index of the window's last character.
      for (let last = from + window - 1; last < length; ) {
        const s = shift[blockHash(text.charCodeAt(last - 2), text.charCodeAt(last - 1), text.charCodeAt(last))] as number;
        if (s > 0) {
          last += s;
          continue;
        }
        const start = last - window + 1;
        if (prefixes.has(text.slice(start, last + 1))) return start;
        last += 1;
      }
      return -1;
    },
    longestAt(text, at) {
      for (const literal of prefixes.get(text.slice(at, at + window)) ?? []) if (text.startsWith(literal, at)) return literal;
      return undefined;
    },
  };
}
