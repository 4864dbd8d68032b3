import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readBundleForReplay } from '@lumenflow/replay';
import { makeHappyRun, makeTempRoot, toArtifacts, writeRunBundle } from './helpers/records.js';

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ root, cleanup } = await makeTempRoot()));
afterEach(async () => cleanup());

async function writePlain(files: Record<string, string>): Promise<string> {
  const dir = join(root, 'plain');
  await mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

describe('readBundleForReplay', () => {
  it('reads a signed bundle with no problems', async () => {
    const dir = await writeRunBundle(makeHappyRun(), root);
    const files = await readBundleForReplay(dir);
    expect(files.problems).toEqual([]);
    expect(files.readable).toBe(true);
    expect(files.decisions).toHaveLength(7);
    expect(files.toolCalls).toHaveLength(3);
    expect(files.manifest?.runId).toBe('run_0001');
    expect(files.manifest?.keyId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(files.digests['ask.json']).toBe(files.manifest?.artifactDigests?.['ask.json']);
  });

  it('reports a missing directory as BUNDLE_NOT_FOUND, not a throw', async () => {
    const files = await readBundleForReplay(join(root, 'nope'));
    expect(files.readable).toBe(false);
    expect(files.problems.map((p) => p.code)).toEqual(['BUNDLE_NOT_FOUND']);
  });

  it('reports a file given as the bundle as BUNDLE_NOT_DIRECTORY', async () => {
    await writeFile(join(root, 'f'), 'x');
    expect((await readBundleForReplay(join(root, 'f'))).problems.map((p) => p.code)).toEqual(['BUNDLE_NOT_DIRECTORY']);
  });

  it('an empty directory is unreadable and lists each missing proof file', async () => {
    const files = await readBundleForReplay(await writePlain({}));
    expect(files.readable).toBe(false);
    expect(files.problems.filter((p) => p.code === 'FILE_MISSING')).toHaveLength(9);
  });

  it('keeps going past bad files: duplicate keys, a schema error, a bad .jsonl line', async () => {
    const artifacts = toArtifacts(makeHappyRun());
    const lines = artifacts['tool-calls.jsonl']!.split('\n');
    lines[1] = '{"schemaVersion":1}';
    const dir = await writePlain({
      ...artifacts,
      'ask.json': '{"schemaVersion":1,"schemaVersion":1}',
      'node-session.json': '{"schemaVersion":2}',
      'tool-calls.jsonl': lines.join('\n'),
    });
    const files = await readBundleForReplay(dir);
    expect(files.ask).toBeNull();
    expect(files.session).toBeNull();
    expect(files.toolCalls).toHaveLength(2);
    expect(files.approval).not.toBeNull();
    const codes = files.problems.map((p) => `${p.file}:${p.code}${p.line === undefined ? '' : `:${p.line}`}`);
    expect(codes).toContain('ask.json:JSON_INVALID:1');
    expect(codes).toContain('node-session.json:SCHEMA_INVALID');
    expect(codes).toContain('tool-calls.jsonl:SCHEMA_INVALID:2');
  });

  it('refuses to follow a symlinked proof file', async () => {
    const dir = await writePlain(toArtifacts(makeHappyRun()));
    await writeFile(join(root, 'secret.txt'), 'top secret');
    await rm(join(dir, 'pr-summary.md'));
    await symlink(join(root, 'secret.txt'), join(dir, 'pr-summary.md'));
    const files = await readBundleForReplay(dir);
    expect(files.prSummary).toBeNull();
    expect(files.problems).toContainEqual(expect.objectContaining({ file: 'pr-summary.md', code: 'FILE_NOT_REGULAR' }));
  });

  it('reports text that is not UTF-8', async () => {
    const dir = await writePlain(toArtifacts(makeHappyRun()));
    await writeFile(join(dir, 'file-diff.patch'), Buffer.from([0x2b, 0xff, 0xfe, 0x0a]));
    const files = await readBundleForReplay(dir);
    expect(files.problems).toContainEqual(expect.objectContaining({ file: 'file-diff.patch', code: 'FILE_NOT_UTF8' }));
    expect(files.diff).not.toBeNull();
  });

  it('rejects misuse with a TypeError', async () => {
    await expect(readBundleForReplay('')).rejects.toBeInstanceOf(TypeError);
  });
});
