/** Injected resolution facts, so the engine stays pure: the runtime passes an fs.realpathSync-based resolver. */
export interface EvaluationContext {
  /** Absolute path of the workspace root. Absolute scope paths are judged against it. */
  workspaceRoot?: string;
  /** Resolves symlinks in an absolute path; undefined when the path does not exist. Used only together with `workspaceRoot`. */
  realpath?: (absolutePath: string) => string | undefined;
}

/** The outcome of normalising a requested fs path. */
export type PathResolution =
  | { ok: true; path: string; aliases: string[]; notes: string[] }
  | { ok: false; problem: 'invalid' | 'outside'; detail: string };

/**
 * Normalises a workspace path: backslashes become `/`, `.` and empty segments
 * go, `..` is resolved, trailing slashes are dropped, and the result is NFC.
 * The workspace root itself is `.`. A path that climbs out, or an absolute
 * path not under `context.workspaceRoot`, is `outside`; an empty path or one
 * with a NUL byte is `invalid`. With `context.realpath`, symlinks are followed
 * and the real location is returned as an alias, so a rule on the real name
 * applies to every name that leads to it.
 */
export function resolveWorkspacePath(raw: string, context: EvaluationContext = {}): PathResolution {
  if (raw === '') return { ok: false, problem: 'invalid', detail: 'the path is empty' };
  if (raw.includes('\0')) return { ok: false, problem: 'invalid', detail: 'the path holds a NUL byte' };
  // A backslash is a separator on Windows; treating it as one everywhere means a
  // rule written with `/` can never be dodged by spelling the path with `\`.
  let text = raw.normalize('NFC').replace(/\\/g, '/');
  const notes: string[] = [];
  const root = context.workspaceRoot === undefined ? undefined : trimSlashes(context.workspaceRoot.replace(/\\/g, '/'));
  if (isAbsolute(text)) {
    const rel = root === undefined ? undefined : relativeTo(collapse(text), root);
    if (rel === undefined) {
      return { ok: false, problem: 'outside', detail: `${raw} is an absolute path outside the workspace` };
    }
    notes.push(`absolute path taken relative to the workspace root`);
    text = rel;
  }
  const segments = collapseRelative(text);
  if (segments === undefined) return { ok: false, problem: 'outside', detail: `${raw} climbs out of the workspace with ".."` };
  const path = segments.length === 0 ? '.' : segments.join('/');
  if (path !== raw) notes.push(`normalised to ${path}`);
  const aliases: string[] = [];
  if (context.realpath !== undefined && root !== undefined) {
    const real = resolveReal(root, segments, context.realpath);
    if (real.outside) return { ok: false, problem: 'outside', detail: `${raw} resolves through a symlink to ${real.path}, outside the workspace` };
    if (real.path !== path) {
      aliases.push(real.path);
      notes.push(`resolves through a symlink to ${real.path}`);
    }
  }
  return { ok: true, path, aliases, notes };
}

// `C:foo` is drive-relative on Windows, i.e. relative to somewhere we cannot see, so any drive prefix counts as absolute.
function isAbsolute(path: string): boolean {
  return path.startsWith('/') || /^[A-Za-z]:/.test(path);
}

function trimSlashes(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}

/** Collapses an absolute path's `.`/`..`/empty segments (`..` at the root stays at the root, as the kernel does). */
function collapse(absolute: string): string {
  const drive = /^[A-Za-z]:/.exec(absolute)?.[0] ?? '';
  const out: string[] = [];
  for (const seg of absolute.slice(drive.length).split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return `${drive}/${out.join('/')}`;
}

/** The path of `absolute` relative to `root`, or undefined when it is not under it. */
function relativeTo(absolute: string, root: string): string | undefined {
  const base = collapse(root);
  if (absolute === base) return '.';
  const prefix = base.endsWith('/') ? base : `${base}/`;
  return absolute.startsWith(prefix) ? absolute.slice(prefix.length) : undefined;
}

function collapseRelative(path: string): string[] | undefined {
  const out: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length === 0) return undefined;
      out.pop();
    } else {
      out.push(seg);
    }
  }
  return out;
}

// A file about to be written may not exist yet, so resolve the deepest
// existing ancestor and re-attach the rest: a symlinked directory still counts.
function resolveReal(root: string, segments: readonly string[], realpath: (p: string) => string | undefined): { path: string; outside: boolean } {
  const realRoot = trimSlashes((realpath(root) ?? root).replace(/\\/g, '/'));
  for (let keep = segments.length; keep >= 0; keep--) {
    const candidate = keep === 0 ? root : `${root}/${segments.slice(0, keep).join('/')}`;
    const real = realpath(candidate);
    if (real === undefined) continue;
    const full = collapse([real.replace(/\\/g, '/'), ...segments.slice(keep)].join('/'));
    const rel = relativeTo(full, realRoot);
    if (rel === undefined) return { path: full, outside: true };
    return { path: rel, outside: false };
  }
  return { path: segments.length === 0 ? '.' : segments.join('/'), outside: false };
}
