/**
 * Every workspace path a git patch touches: both sides of each file's diff,
 * renames and copies included. Pure. Paths that git quoted (`"a/sp\\303\\251c"`)
 * are unquoted to the bytes they name, read as UTF-8.
 */
export function listPatchPaths(patch: string): string[] {
  const paths = new Set<string>();
  // A side as git writes it: maybe quoted, maybe with its a/ or b/ prefix.
  const add = (raw: string | undefined, prefixed: boolean): void => {
    if (raw === undefined || raw === '/dev/null') return;
    const path = raw.startsWith('"') ? unquote(raw) : raw;
    if (path === undefined) return;
    paths.add(prefixed ? path.replace(/^[ab]\//, '') : path);
  };
  for (const line of patch.split('\n')) {
    if (line.startsWith('diff --git ')) for (const side of splitHeader(line.slice('diff --git '.length))) add(side, true);
    else if (line.startsWith('--- ') || line.startsWith('+++ ')) add(stripTab(line.slice(4)), true);
    else {
      const moved = /^(?:rename|copy) (?:from|to) (.*)$/.exec(line);
      if (moved !== null) add(moved[1], false);
    }
  }
  return [...paths].sort();
}

// Unquoted `a/x b/x` cannot be split at a space in general; the two sides
// name the same path unless the file was renamed or copied, and then the
// rename lines name both, so an unquoted header counts only when its halves agree.
function splitHeader(rest: string): string[] {
  if (rest.startsWith('"')) {
    const end = closingQuote(rest);
    if (end === -1) return [];
    return [rest.slice(0, end + 1), rest.slice(end + 2)];
  }
  const half = (rest.length - 1) / 2;
  if (!Number.isInteger(half)) return [];
  const left = rest.slice(0, half);
  const right = rest.slice(half + 1);
  if (!left.startsWith('a/') || !right.startsWith('b/') || left.slice(2) !== right.slice(2)) return [];
  return [left];
}

function closingQuote(text: string): number {
  for (let i = 1; i < text.length; i += 1) {
    if (text[i] === '\\') i += 1;
    else if (text[i] === '"') return i;
  }
  return -1;
}

function stripTab(text: string): string {
  // git ends a path that has spaces with a tab on ---/+++ lines.
  return text.endsWith('\t') ? text.slice(0, -1) : text;
}

const ESCAPES: Record<string, number> = { a: 7, b: 8, t: 9, n: 10, v: 11, f: 12, r: 13, '"': 34, '\\': 92 };

/** A C-style quoted path as git writes it, to its text; undefined when malformed. */
export function unquote(quoted: string): string | undefined {
  if (!quoted.startsWith('"') || !quoted.endsWith('"') || quoted.length < 2) return undefined;
  const bytes: number[] = [];
  const body = quoted.slice(1, -1);
  for (let i = 0; i < body.length; i += 1) {
    const c = body[i] as string;
    if (c !== '\\') {
      bytes.push(...Buffer.from(c, 'utf8'));
      continue;
    }
    const next = body[i + 1];
    if (next === undefined) return undefined;
    if (/[0-7]/.test(next)) {
      const octal = /^[0-7]{3}/.exec(body.slice(i + 1))?.[0];
      if (octal === undefined) return undefined;
      bytes.push(parseInt(octal, 8));
      i += 3;
    } else if (ESCAPES[next] !== undefined) {
      bytes.push(ESCAPES[next]);
      i += 1;
    } else return undefined;
  }
  return Buffer.from(bytes).toString('utf8');
}
