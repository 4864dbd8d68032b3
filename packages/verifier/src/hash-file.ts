import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';

// 1 MiB reads: large enough that syscalls cost nothing next to SHA-256, small
// enough that memory stays flat (two such buffers) however large the file.
const CHUNK_BYTES = 1024 * 1024;

export interface HashedFile {
  sha256: Buffer;
  size: number;
}

type OpenFailure = { ok: false; reason: 'missing' | 'not-regular' | 'unreadable'; detail: string };

export type HashFileResult = { ok: true; file: HashedFile } | OpenFailure;

/**
 * Hashes one file with node:crypto SHA-256 in a single streaming pass, never
 * following a symbolic link. `buffer`, if given, is split in two for pipelined reads. `onChunk` sees each chunk (valid only during the call),
 * so callers can parse the same bytes they hash instead of reading the file twice.
 */
export async function hashFile(path: string, onChunk?: (chunk: Uint8Array) => void, buffer?: Buffer): Promise<HashFileResult> {
  const opened = await openNoFollow(path);
  if (!opened.ok) return opened;
  const { handle } = opened;
  let pending: Promise<{ bytesRead: number }> | undefined;
  try {
    // fstat on the open descriptor: the thing hashed is the thing checked, even if the path is swapped.
    const stat = await handle.stat();
    if (!stat.isFile()) return { ok: false, reason: 'not-regular', detail: 'is not a regular file' };
    const hash = createHash('sha256');
    // Two halves: the next read runs on the libuv pool while this thread hashes
    // the previous chunk, so I/O hides behind SHA-256 instead of adding to it.
    const buffers = splitBuffer(buffer ?? Buffer.allocUnsafe(2 * CHUNK_BYTES));
    let size = 0;
    let turn: 0 | 1 = 0;
    pending = handle.read(buffers[0], 0, buffers[0].length, null);
    for (;;) {
      const { bytesRead } = await pending;
      pending = undefined;
      if (bytesRead === 0) break;
      const filled = buffers[turn];
      turn = turn === 0 ? 1 : 0;
      const next = buffers[turn];
      // Only one read is ever outstanding, so the file position advances in order.
      pending = handle.read(next, 0, next.length, null);
      const view = filled.subarray(0, bytesRead);
      hash.update(view);
      onChunk?.(view);
      size += bytesRead;
    }
    return { ok: true, file: { sha256: hash.digest(), size } };
  } catch (cause) {
    return { ok: false, reason: 'unreadable', detail: (cause as NodeJS.ErrnoException).code ?? 'read failed' };
  } finally {
    // Never close the descriptor under an in-flight read.
    await pending?.catch(() => undefined);
    await handle.close();
  }
}

// O_NOFOLLOW: a bundle is attacker-controlled, and a link could point the check at a file outside it.
// O_NONBLOCK: opening a FIFO planted in its place must not hang; fstat then rejects it.
async function openNoFollow(path: string): Promise<{ ok: true; handle: FileHandle } | OpenFailure> {
  try {
    return { ok: true, handle: await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK) };
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, reason: 'missing', detail: 'no such file' };
    if (code === 'ELOOP') return { ok: false, reason: 'not-regular', detail: 'is a symbolic link' };
    return { ok: false, reason: 'unreadable', detail: code ?? 'open failed' };
  }
}

function splitBuffer(buffer: Buffer): readonly [Buffer, Buffer] {
  const half = Math.floor(buffer.length / 2);
  return [buffer.subarray(0, half), buffer.subarray(half, half * 2)];
}
