import { access, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { executeStep } from '@lumenflow/runtime';

let tmpRoot: string;
beforeAll(async () => {
  tmpRoot = await mkdtemp(join(tmpdir(), 'lumenflow-nofollow-'));
});
afterAll(async () => {
  await rm(tmpRoot, { recursive: true, force: true });
});

// realpath cannot resolve a dangling symlink, so the write used to go through
// it and create the link's target: a file outside the workspace, or `.env`.
test('write_file does not create the target of a dangling symlink', async () => {
  const ws = join(tmpRoot, 'ws');
  await mkdir(join(ws, 'src'), { recursive: true });
  await symlink(join(tmpRoot, 'escaped.txt'), join(ws, 'src', 'out.txt'));
  await symlink('../.env', join(ws, 'src', 'notes.txt'));
  for (const path of ['src/out.txt', 'src/notes.txt']) {
    expect((await executeStep({ tool: 'write_file', path, content: 'x' }, ws)).status, path).toBe('failed');
  }
  await expect(access(join(tmpRoot, 'escaped.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
  await expect(access(join(ws, '.env'))).rejects.toMatchObject({ code: 'ENOENT' });
  expect((await executeStep({ tool: 'write_file', path: 'src/new.txt', content: 'ok' }, ws)).status).toBe('succeeded');
  expect(await readFile(join(ws, 'src', 'new.txt'), 'utf8')).toBe('ok');
});
