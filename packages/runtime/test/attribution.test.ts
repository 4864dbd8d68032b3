import { chmod, mkdir, mkdtemp, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { PolicyDecision } from '@lumenflow/policy';
import { attributeChanges, createSnapshotter, diffSnapshots } from '@lumenflow/runtime';
import type { Snapshot } from '@lumenflow/runtime';

let root: string;
let ws: string;
let outside: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'lumenflow-attr-'));
  ws = join(root, 'ws');
  outside = join(root, 'outside');
  await mkdir(join(ws, 'src'), { recursive: true });
  await mkdir(join(ws, 'docs'));
  await mkdir(join(ws, '.git/hooks'), { recursive: true });
  await mkdir(outside);
  await writeFile(join(ws, 'src/a.js'), 'a\n');
  await writeFile(join(ws, 'docs/readme.md'), 'docs\n');
  await writeFile(join(ws, 'package.json'), '{}\n');
  await writeFile(join(ws, '.git/config'), '[core]\n');
  await writeFile(join(outside, 'keep.txt'), 'outside\n');
  await symlink('a.js', join(ws, 'src/link.js'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const decision = (path: string, effect: PolicyDecision['effect']): PolicyDecision => ({
  scope: { kind: 'fs.write', target: path },
  effect,
  matchedRuleIds: [],
  decidingRuleId: effect === 'allow' ? 'test.allow' : 'test.deny',
  reason: 'test',
  policyDigest: `sha256:${'0'.repeat(64)}`,
  warnings: [],
});
const allowSrc = (path: string): PolicyDecision => decision(path, path.startsWith('src/') ? 'allow' : 'deny');

describe('snapshots', () => {
  test('a diff names added, modified and deleted paths: content, mode, link target and type all count', async () => {
    const snap = await createSnapshotter(ws);
    const before = await snap.take();
    await writeFile(join(ws, 'src/a.js'), 'changed\n');
    await chmod(join(ws, 'package.json'), 0o755);
    await rm(join(ws, 'src/link.js'));
    await symlink('../package.json', join(ws, 'src/link.js'));
    await rm(join(ws, 'docs'), { recursive: true });
    await writeFile(join(ws, 'docs'), 'now a file\n');
    await writeFile(join(ws, 'new.txt'), 'new\n');
    const changes = diffSnapshots(before, await snap.take());
    expect(changes).toEqual([
      { path: 'docs', change: 'modified' },
      { path: 'docs/readme.md', change: 'deleted' },
      { path: 'new.txt', change: 'added' },
      { path: 'package.json', change: 'modified' },
      { path: 'src/a.js', change: 'modified' },
      { path: 'src/link.js', change: 'modified' },
    ]);
    await snap.dispose();
  });
});

describe('attribution', () => {
  async function attack(heldBytes?: number): Promise<{ before: Snapshot; snap: Awaited<ReturnType<typeof createSnapshotter>> }> {
    const snap = await createSnapshotter(ws, heldBytes === undefined ? {} : { heldBytes });
    const before = await snap.take();
    await writeFile(join(ws, 'src/a.js'), 'allowed change\n');
    await writeFile(join(ws, 'src/new.js'), 'allowed new\n');
    await writeFile(join(ws, 'package.json'), '{"scripts":{"postinstall":"evil"}}\n');
    await chmod(join(ws, 'package.json'), 0o777);
    await writeFile(join(ws, '.git/hooks/pre-commit'), '#!/bin/sh\n', { mode: 0o755 });
    await writeFile(join(ws, '.git/config'), '[core]\n\thooksPath = /tmp\n');
    // docs replaced by a link out of the workspace: a naive restore of docs/readme.md would write outside.
    await rm(join(ws, 'docs'), { recursive: true });
    await symlink(outside, join(ws, 'docs'));
    await mkdir(join(ws, 'build/deep'), { recursive: true });
    await writeFile(join(ws, 'build/deep/out.bin'), 'x');
    return { before, snap };
  }

  // Copies held in memory (the default budget) and copies in the blob directory (no budget) restore alike.
  test.each([['in memory', undefined], ['on disk', 0]])('every change Rules do not allow is reverted to the exact bytes (copies %s); allowed ones stay', async (_where, heldBytes) => {
    const { before, snap } = await attack(heldBytes);
    const { changes } = await attributeChanges({ snapshotter: snap, before, judge: allowSrc, tooMany: (_n, p) => decision(p, 'deny') });
    expect(changes.filter((c) => !c.reverted).map((c) => c.path)).toEqual(['src/a.js', 'src/new.js']);
    expect(changes.filter((c) => c.reverted).map((c) => c.path)).toEqual(
      expect.arrayContaining(['package.json', '.git/hooks/pre-commit', '.git/config', 'docs', 'docs/readme.md', 'build', 'build/deep', 'build/deep/out.bin']),
    );
    expect(await readFile(join(ws, 'package.json'), 'utf8')).toBe('{}\n');
    expect((await stat(join(ws, 'package.json'))).mode & 0o777).toBe(0o644);
    expect(await readFile(join(ws, '.git/config'), 'utf8')).toBe('[core]\n');
    expect(await readFile(join(ws, 'docs/readme.md'), 'utf8')).toBe('docs\n');
    expect((await stat(join(ws, 'docs'))).isDirectory()).toBe(true);
    await expect(stat(join(ws, 'build'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(join(ws, '.git/hooks/pre-commit'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readFile(join(ws, 'src/a.js'), 'utf8')).toBe('allowed change\n');
    expect(await readlink(join(ws, 'src/link.js'))).toBe('a.js');
    // Nothing was written through the planted link.
    expect(await readFile(join(outside, 'keep.txt'), 'utf8')).toBe('outside\n');
    await expect(stat(join(outside, 'readme.md'))).rejects.toMatchObject({ code: 'ENOENT' });
    await snap.dispose();
  });

  test.each([['in memory', undefined], ['on disk', 0]])('a file larger than a small read is restored byte for byte (copies %s)', async (_where, heldBytes) => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 7);
    for (let i = 0; i < big.length; i += 1) big[i] = (i * 31 + 7) & 0xff;
    const mid = Buffer.alloc(512 * 1024, 0x61);
    await writeFile(join(ws, 'big.bin'), big);
    await writeFile(join(ws, 'mid.bin'), mid);
    const snap = await createSnapshotter(ws, heldBytes === undefined ? {} : { heldBytes });
    const before = await snap.take();
    await writeFile(join(ws, 'big.bin'), 'overwritten');
    await rm(join(ws, 'mid.bin'));
    const { changes } = await attributeChanges({ snapshotter: snap, before, judge: allowSrc, tooMany: (_n, p) => decision(p, 'deny') });
    expect(changes.map((c) => [c.path, c.reverted])).toEqual([
      ['big.bin', true],
      ['mid.bin', true],
    ]);
    expect((await readFile(join(ws, 'big.bin'))).equals(big)).toBe(true);
    expect((await readFile(join(ws, 'mid.bin'))).equals(mid)).toBe(true);
    await snap.dispose();
  });

  test('a new directory that leads to an allowed file is part of that write; one that leads nowhere allowed is reverted', async () => {
    const snap = await createSnapshotter(ws);
    const before = await snap.take();
    await mkdir(join(ws, 'notes/deep'), { recursive: true });
    await writeFile(join(ws, 'notes/deep/a.md'), 'ok\n');
    await mkdir(join(ws, 'empty'));
    const mdOnly = (path: string): PolicyDecision => decision(path, path.endsWith('.md') ? 'allow' : 'deny');
    const { changes } = await attributeChanges({ snapshotter: snap, before, judge: mdOnly, tooMany: (_n, p) => decision(p, 'deny') });
    expect(changes.map((c) => [c.path, c.reverted])).toEqual([
      ['empty', true],
      ['notes/deep/a.md', false],
    ]);
    expect(await readFile(join(ws, 'notes/deep/a.md'), 'utf8')).toBe('ok\n');
    await expect(stat(join(ws, 'empty'))).rejects.toMatchObject({ code: 'ENOENT' });
    await snap.dispose();
  });

  test('more changes than the bound: all are reverted under one deny', async () => {
    const snap = await createSnapshotter(ws);
    const before = await snap.take();
    await mkdir(join(ws, 'src/many'));
    for (let i = 0; i < 1005; i += 1) await writeFile(join(ws, `src/many/${i}.txt`), String(i));
    const { changes } = await attributeChanges({ snapshotter: snap, before, judge: allowSrc, tooMany: (n, p) => ({ ...decision(p, 'deny'), reason: `${n} changes` }) });
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ reverted: true, decision: { effect: 'deny', reason: '1006 changes' } });
    await expect(stat(join(ws, 'src/many'))).rejects.toMatchObject({ code: 'ENOENT' });
    await snap.dispose();
  });
});
