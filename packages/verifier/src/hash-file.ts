import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

// 1 MiB reads: large enough that syscalls cost nothing next to SHA-256, small
// enough that memory stays flat however large the file.
const CHUNK_BYTES = 1024 * 1024;

export interface HashedFile {
  sha256: Buffer;
  size: number;
}

export type HashFileResult = { ok: true; file: HashedFile } | { ok: false; reason: 'missing' | 'not-regular' | 'unreadable'; detail: string };

/**
 * Hashes one file with node:crypto SHA-256 in a single streaming pass, never
 * following a symbolic link. `onChunk` sees each chunk (valid only during the call),
 * so callers can parse the same bytes they hash instead of reading the file twice.
 */
export async function hashFile(path: string, onChunk?: (chunk: Uint8Array) => void, buffer?: Buffer): Promise<HashFileResult> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, reason: 'missing', detail: 'no such file' };
    if (code === 'ELOOP') return { ok: false, reason: 'not-regular', detail: 'is a symbolic link' };
    return { ok: false, reason: 'unreadable', detail: code ?? 'open failed' };
  }
  try {
    // fstat on the open descriptor: the thing hashed is the thing checked, even if the path is swapped.
    const stat = await handle.stat();
    if (!stat.isFile()) return { ok: false, reason: 'not-regular', detail: 'is not a regular file' };
    const hash = createHash('sha256');
    const chunk = buffer ?? Buffer.allocUnsafe(CHUNK_BYTES);
    let size = 0;
    for (;;) {
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      const view = chunk.subarray(0, bytesRead);
      hash.update(view);
      onChunk?.(view);
      size += bytesRead;
    }
    return { ok: true, file: { sha256: hash.digest(), size } };
  } catch (cause) {
    return { ok: false, reason: 'unreadable', detail: (cause as NodeJS.ErrnoException).code ?? 'read failed' };
  } finally {
    await handle.close();
  }
}

/** Reads a small file whole without following links; refuses more than `maxBytes`. */
export async function readSmallFile(
  path: string,
  maxBytes: number,
): Promise<{ ok: true; bytes: Uint8Array } | { ok: false; reason: 'missing' | 'not-regular' | 'unreadable' | 'too-large'; detail: string }> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, reason: 'missing', detail: 'no such file' };
    if (code === 'ELOOP') return { ok: false, reason: 'not-regular', detail: 'is a symbolic link' };
    return { ok: false, reason: 'unreadable', detail: code ?? 'open failed' };
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return { ok: false, reason: 'not-regular', detail: 'is not a regular file' };
    const buffer = Buffer.alloc(maxBytes + 1);
    let total = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, total, buffer.length - total, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > maxBytes) return { ok: false, reason: 'too-large', detail: `larger than ${maxBytes} bytes` };
    }
    return { ok: true, bytes: new Uint8Array(buffer.subarray(0, total)) };
  } catch (cause) {
    return { ok: false, reason: 'unreadable', detail: (cause as NodeJS.ErrnoException).code ?? 'read failed' };
  } finally {
    await handle.close();
  }
}
