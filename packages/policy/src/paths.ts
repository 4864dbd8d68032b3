/** Injected resolution facts, so the engine stays pure: the runtime passes an fs.realpathSync-based resolver. */
export interface EvaluationContext {
  /** Absolute path of the workspace root. Absolute scope paths are judged against it. */
  workspaceRoot?: string;
  /** Resolves symlinks in an absolute path; undefined when the path does not exist. Used only together with `workspaceRoot`. */
  realpath?: (absolutePath: string) => string | undefined;
  /**
   * Reads a symlink's target (as `fs.readlinkSync` does); undefined when the path is not a symlink.
   * With it, a dangling symlink is followed too: writing through one creates its target, so a link
   * to `../.env` or `/etc/x` that does not exist yet must be judged as that target.
   */
  readlink?: (absolutePath: string) => string | undefined;
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
    const real = resolveReal(root, segments, context.realpath, context.readlink);
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

// A file about to be written may not exist yet, so the path is walked one
// component at a time: each existing prefix is replaced by its real location
// (a symlinked directory still counts), and when a missing component is itself
// a dangling symlink its target is followed, since a write through it creates
// that target. Components are resolved in order, as the kernel does, so `..`
// after a symlink climbs from where the link leads.
const MAX_LINK_HOPS = 40;

function resolveReal(
  root: string,
  segments: readonly string[],
  realpath: (p: string) => string | undefined,
  readlink: ((p: string) => string | undefined) | undefined,
): { path: string; outside: boolean } {
  const realRoot = trimSlashes((realpath(root) ?? root).replace(/\\/g, '/'));
  const full = segments.length === 0 ? root : `${root}/${segments.join('/')}`;
  const direct = realpath(full);
  let resolved: string | undefined;
  if (direct !== undefined) {
    resolved = collapse(direct.replace(/\\/g, '/'));
  } else if (readlink !== undefined) {
    resolved = walk(full, realpath, readlink);
    // A loop or a chain longer than the kernel follows: nothing can be written there, and nothing here can say where it leads.
    if (resolved === undefined) return { path: full, outside: true };
  } else {
    for (let keep = segments.length - 1; keep >= 0 && resolved === undefined; keep--) {
      const real = realpath(keep === 0 ? root : `${root}/${segments.slice(0, keep).join('/')}`);
      if (real !== undefined) resolved = collapse([real.replace(/\\/g, '/'), ...segments.slice(keep)].join('/'));
    }
    if (resolved === undefined) return { path: segments.length === 0 ? '.' : segments.join('/'), outside: false };
  }
  const rel = relativeTo(resolved, realRoot);
  return rel === undefined ? { path: resolved, outside: true } : { path: rel, outside: false };
}

function walk(absolute: string, realpath: (p: string) => string | undefined, readlink: (p: string) => string | undefined): string | undefined {
  const normal = absolute.replace(/\\/g, '/');
  const drive = /^[A-Za-z]:/.exec(normal)?.[0] ?? '';
  const pending = normal.slice(drive.length).split('/').reverse();
  const top = `${drive}/`;
  let current = top;
  let hops = 0;
  const join = (dir: string, name: string): string => (dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`);
  while (pending.length > 0) {
    const part = pending.pop() as string;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      const cut = current.lastIndexOf('/');
      current = cut <= drive.length ? top : current.slice(0, cut);
      continue;
    }
    const candidate = join(current, part);
    const real = realpath(candidate);
    if (real !== undefined) {
      current = collapse(real.replace(/\\/g, '/'));
      continue;
    }
    const link = readlink(candidate);
    if (link === undefined) {
      current = candidate;
      continue;
    }
    if (++hops > MAX_LINK_HOPS) return undefined;
    const target = link.replace(/\\/g, '/');
    if (isAbsolute(target)) {
      const targetDrive = /^[A-Za-z]:/.exec(target)?.[0] ?? '';
      current = `${targetDrive}/`;
      pending.push(...target.slice(targetDrive.length).split('/').reverse());
    } else {
      pending.push(...target.split('/').reverse());
    }
  }
  return collapse(current);
}
