import { constants as fsConstants } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { MIN_SECRET_LENGTH, SECRET_SOURCE_KINDS, secretFileValues } from '@lumenflow/protocol';
import type { KnownSecret, Redactor } from '@lumenflow/protocol';
import type { Snapshot } from './sandbox/snapshot.js';

// The runtime's side of docs/secrets.md: the values in the workspace's secret
// files, and whether a file a process wrote holds a secret.

/** Largest secret file whose values are read; a bigger one is read up to this. */
export const MAX_SECRET_FILE_BYTES = 1024 * 1024;
/** Largest written file checked for secrets; a bigger one is refused unchecked (fail closed). */
export const MAX_CHECKED_FILE_BYTES = 64 * 1024 * 1024;

/**
 * The known secrets in the workspace's secret files (`isSecretFile`, from the
 * Rules): every regular file of the snapshot that is one, its values read
 * with {@link secretFileValues}. Read once, at session open, so output that
 * shows them (a test printing its environment, `cat .env`) is redacted.
 */
export async function readWorkspaceSecrets(workspaceDir: string, snapshot: Snapshot, isSecretFile: (path: string) => boolean): Promise<KnownSecret[]> {
  const out: KnownSecret[] = [];
  for (const [path, entry] of snapshot) {
    if (entry.type !== 'file' || !isSecretFile(path)) continue;
    const read = await readBounded(join(workspaceDir, path), MAX_SECRET_FILE_BYTES);
    if (read === undefined) continue;
    for (const value of secretFileValues(read.text)) out.push({ value, kind: SECRET_SOURCE_KINDS.file });
  }
  return out;
}

/** How the runtime tells whether content may enter the change: the redactor's secrets, and which paths are secret files. */
export interface SecretCheck {
  redactor: Redactor;
  isSecretFile: (path: string) => boolean;
}

/**
 * Why `content` may not be written to `path` (ADR 0035): the kind of the
 * first known value or pattern it holds, or `secret-file` when `path` is a
 * secret file and the content gives it a value; undefined when it may.
 */
export function findSecretInContent(content: string, path: string, check: SecretCheck): string | undefined {
  const kind = check.redactor.findSecret(content);
  if (kind !== undefined) return kind;
  if (check.isSecretFile(path) && secretFileValues(content).some((v) => v.length >= MIN_SECRET_LENGTH)) return SECRET_SOURCE_KINDS.file;
  return undefined;
}

/**
 * {@link findSecretInContent} for a file a tool process left in the workspace
 * (links not followed); `oversized` when it is too big to check.
 */
export async function findSecretInFile(workspaceDir: string, path: string, check: SecretCheck): Promise<string | undefined> {
  const read = await readBounded(join(workspaceDir, path), MAX_CHECKED_FILE_BYTES + 1);
  if (read === undefined) return undefined;
  if (read.bytes > MAX_CHECKED_FILE_BYTES) return 'oversized';
  return findSecretInContent(read.text, path, check);
}

async function readBounded(abs: string, limit: number): Promise<{ text: string; bytes: number } | undefined> {
  let handle;
  try {
    handle = await open(abs, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return undefined;
    const size = Math.min(info.size, limit);
    const buffer = Buffer.alloc(size);
    const { bytesRead } = await handle.read(buffer, 0, size, 0);
    return { text: buffer.subarray(0, bytesRead).toString('utf8'), bytes: bytesRead };
  } finally {
    await handle.close();
  }
}
