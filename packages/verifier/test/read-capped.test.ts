import { spawnSync } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readFileCapped } from '@lumenflow/verifier';
import { useTempDirs } from './support/temp-dir.js';

const tempDir = useTempDirs();

describe('readFileCapped, the one capped no-follow read', () => {
  it('reads a regular file up to and including the cap, and refuses one byte more', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'four'), 'abcd');
    const read = await readFileCapped(join(dir, 'four'), 4);
    expect(read.ok && Buffer.from(read.bytes).toString()).toBe('abcd');
    expect(await readFileCapped(join(dir, 'four'), 3)).toMatchObject({ ok: false, reason: 'too-large' });
  });

  it('never follows a symbolic link unless asked to', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'target'), 'secret');
    await symlink(join(dir, 'target'), join(dir, 'link'));
    expect(await readFileCapped(join(dir, 'link'), 100)).toMatchObject({ ok: false, reason: 'not-regular', code: 'ELOOP' });
    expect(await readFileCapped(join(dir, 'link'), 100, { followLinks: true })).toMatchObject({ ok: true });
  });

  it('refuses a missing file, a directory and a device with their reason', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'sub'));
    expect(await readFileCapped(join(dir, 'nope'), 10)).toMatchObject({ ok: false, reason: 'missing', code: 'ENOENT' });
    expect(await readFileCapped(join(dir, 'sub'), 10)).toMatchObject({ ok: false, reason: 'not-regular', code: 'EISDIR' });
    expect(await readFileCapped('/dev/zero', 10, { followLinks: true })).toMatchObject({ ok: false, reason: 'not-regular' });
  });

  it.skipIf(process.platform === 'win32')('a FIFO with no writer is refused at once instead of blocking', async () => {
    const dir = await tempDir();
    const fifo = join(dir, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    expect(await readFileCapped(fifo, 10)).toMatchObject({ ok: false, reason: 'not-regular' });
  });

  it('a bad cap is misuse', async () => {
    await expect(readFileCapped('/x', -1)).rejects.toBeInstanceOf(RangeError);
  });
});
