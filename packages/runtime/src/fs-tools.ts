import { constants } from 'node:fs';
import { open, readFile, readdir, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { computeSha256Digest } from '@lumenflow/protocol';
import { TOOL_LIMITS, clip } from './tool-limits.js';
import type { CanRead, StepResult } from './step-result.js';

/** Whether the session may read a workspace file (Rules and the Ask's grant); listings and searches show only those. */
export type { CanRead } from './step-result.js';

export async function readFileTool(workspaceDir: string, path: string): Promise<StepResult> {
  const real = await resolveInside(workspaceDir, path);
  if (real === undefined) return failed(`${path} is not a file inside the workspace`);
  const bytes = await readFile(real).catch(() => undefined);
  if (bytes === undefined) return failed(`${path} cannot be read (missing, or not a file)`);
  const shown = clip(bytes.toString('utf8'), TOOL_LIMITS.readBytes);
  return { status: 'succeeded', outputHash: computeSha256Digest(bytes), text: shown.text, ...(shown.clipped ? { limit: 'output' as const } : {}) };
}

export async function writeFileTool(workspaceDir: string, path: string, content: string): Promise<StepResult> {
  const real = await resolveInside(workspaceDir, path);
  if (real === undefined) return failed(`${path} is not a path inside the workspace`);
  const bytes = Buffer.from(content, 'utf8');
  const ok = await writeNoFollow(real, bytes).then(
    () => true,
    () => false,
  );
  return ok ? { status: 'succeeded', outputHash: computeSha256Digest(bytes), text: `wrote ${bytes.length} bytes to ${path}` } : failed(`${path} cannot be written`);
}

/** Every readable file under a directory, sorted, `.git` left out, up to the listing bound. */
export async function listFilesTool(workspaceDir: string, path: string, canRead: CanRead): Promise<StepResult> {
  const files = await walk(workspaceDir, path, canRead);
  if (files === undefined) return failed(`${path} is not a directory inside the workspace`);
  const shown = files.slice(0, TOOL_LIMITS.listEntries);
  const more = files.length - shown.length;
  const text = shown.join('\n') + (more > 0 ? `\n[${more} more not shown]` : '');
  return { status: 'succeeded', outputHash: computeSha256Digest(Buffer.from(files.join('\n'), 'utf8')), text, ...(more > 0 ? { limit: 'output' as const } : {}) };
}

/** Lines holding `pattern` (literal text, not a regular expression) in the readable files under a directory. */
export async function searchTool(workspaceDir: string, path: string, pattern: string, canRead: CanRead): Promise<StepResult> {
  const files = await walk(workspaceDir, path, canRead);
  if (files === undefined) return failed(`${path} is not a directory inside the workspace`);
  const hits: string[] = [];
  let total = 0;
  for (const file of files) {
    const real = await resolveInside(workspaceDir, file);
    if (real === undefined) continue;
    const bytes = await readFile(real).catch(() => undefined);
    if (bytes === undefined || bytes.length > TOOL_LIMITS.searchFileBytes) continue;
    const lines = bytes.toString('utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] as string;
      if (!line.includes(pattern)) continue;
      total++;
      if (hits.length < TOOL_LIMITS.searchMatches) hits.push(`${file}:${i + 1}: ${line.slice(0, TOOL_LIMITS.searchLineChars)}`);
    }
  }
  const more = total - hits.length;
  const text = hits.length === 0 ? 'no matches' : hits.join('\n') + (more > 0 ? `\n[${more} more matches not shown]` : '');
  return { status: 'succeeded', outputHash: computeSha256Digest(Buffer.from(text, 'utf8')), text, ...(more > 0 ? { limit: 'output' as const } : {}) };
}

// Files only, never through a symlink (a link could lead out of the workspace), in sorted order.
async function walk(workspaceDir: string, path: string, canRead: CanRead): Promise<string[] | undefined> {
  const root = await realpath(workspaceDir);
  const start = path === '.' ? root : await resolveInside(workspaceDir, path);
  if (start === undefined) return undefined;
  const out: string[] = [];
  const visit = async (dir: string): Promise<boolean> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => undefined);
    if (entries === undefined) return false;
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.name === '.git') continue;
      const full = join(dir, entry.name);
      const rel = relative(root, full).split(sep).join('/');
      if (entry.isDirectory()) await visit(full);
      else if (entry.isFile() && canRead(rel)) out.push(rel);
      // A bound on the walk too: a hostile repository can hold millions of files.
      if (out.length > TOOL_LIMITS.listEntries * 10) return true;
    }
    return true;
  };
  return (await visit(start)) ? out : undefined;
}

// realpath cannot see through a dangling symlink, so resolveInside hands such a
// path back as is; O_NOFOLLOW stops the write from creating the link's target
// (which may be `.env` or a file outside the workspace) instead.
async function writeNoFollow(path: string, bytes: Uint8Array): Promise<void> {
  const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644);
  try {
    await handle.writeFile(bytes);
  } finally {
    await handle.close();
  }
}

export function failed(why: string): StepResult {
  return { status: 'failed', outputHash: computeSha256Digest(new Uint8Array()), text: why };
}

// Rules judged the path as written; this keeps the effect inside the workspace
// too, even through a symlink planted in the fixture.
async function resolveInside(root: string, path: string): Promise<string | undefined> {
  if (isAbsolute(path)) return undefined;
  const realRoot = await realpath(root);
  const target = resolve(realRoot, path);
  const rel = relative(realRoot, target);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return undefined;
  const real = await realpath(target).catch(() => target);
  return real.startsWith(realRoot + sep) ? real : undefined;
}
