import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { omitUndefined } from '@lumenflow/protocol';

const READ_CHUNK_BYTES = 1024 * 1024;

/** Why a capped read failed; `code` is the errno when one explains it (ENOENT, ELOOP, EISDIR, EACCES, …). */
export interface CappedReadFailure {
  ok: false;
  reason: 'missing' | 'not-regular' | 'unreadable' | 'too-large';
  /** Words that follow the file's name: `is a symbolic link`, `is 9 bytes; at most 4 are read`. */
  detail: string;
  code?: string;
}

export type CappedReadResult = { ok: true; bytes: Uint8Array } | CappedReadFailure;

/**
 * Reads a regular file whole, never more than `maxBytes`, and by default
 * without following a symbolic link: the one way every package reads a file
 * that may be hostile (a bundle's files, a pinned key). The descriptor is judged
 * (fstat), not the path, so a file swapped for a link, FIFO or device after a
 * check is still refused; O_NONBLOCK keeps the open of a FIFO from waiting for
 * a writer; and a file that grows while it is read cannot make the reader
 * allocate past the cap. Never throws for bad files; misuse is a RangeError.
 *
 * @param options.followLinks follow a symbolic link (only for a path the operator chose).
 */
export async function readFileCapped(path: string, maxBytes: number, options: { followLinks?: boolean } = {}): Promise<CappedReadResult> {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new RangeError('maxBytes must be a non-negative integer');
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | (options.followLinks === true ? 0 : constants.O_NOFOLLOW);
  let handle: FileHandle;
  try {
    handle = await open(path, flags);
  } catch (cause) {
    return describeOpenFailure((cause as NodeJS.ErrnoException).code);
  }
  try {
    const stat = await handle.stat();
    if (stat.isDirectory()) return { ok: false, reason: 'not-regular', detail: 'is a directory', code: 'EISDIR' };
    if (!stat.isFile()) return { ok: false, reason: 'not-regular', detail: 'is not a regular file' };
    if (stat.size > maxBytes) return { ok: false, reason: 'too-large', detail: `is ${stat.size} bytes; at most ${maxBytes} are read` };
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.max(1, Math.min(READ_CHUNK_BYTES, maxBytes + 1 - total)));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
      if (total > maxBytes) return { ok: false, reason: 'too-large', detail: `grew past ${maxBytes} bytes while being read` };
    }
    const buffer = Buffer.concat(chunks, total);
    return { ok: true, bytes: new Uint8Array(buffer.buffer, buffer.byteOffset, total) };
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    return { ok: false, reason: 'unreadable', detail: code ?? 'read failed', ...omitUndefined({ code }) };
  } finally {
    await handle.close();
  }
}

function describeOpenFailure(code: string | undefined): CappedReadFailure {
  if (code === 'ENOENT') return { ok: false, reason: 'missing', detail: 'no such file', code };
  if (code === 'ELOOP') return { ok: false, reason: 'not-regular', detail: 'is a symbolic link', code };
  if (code === 'EISDIR') return { ok: false, reason: 'not-regular', detail: 'is a directory', code };
  return { ok: false, reason: 'unreadable', detail: code ?? 'open failed', ...omitUndefined({ code }) };
}
