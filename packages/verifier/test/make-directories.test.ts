import { spawnSync } from 'node:child_process';
import { stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeDirectories } from '@lumenflow/verifier';
import { useTempDirs } from './support/temp-dir.js';

const tempDir = useTempDirs();
const repoRoot = resolve(import.meta.dirname, '..', '..', '..');

describe('makeDirectories', () => {
  it('creates missing parents with the mode asked for, and accepts an existing directory', async () => {
    const root = await tempDir();
    const deep = join(root, 'a', 'b', 'c');
    await makeDirectories(deep, 0o700);
    expect((await stat(deep)).isDirectory()).toBe(true);
    expect((await stat(join(root, 'a'))).mode & 0o777).toBe(0o700);
    await expect(makeDirectories(deep)).resolves.toBeUndefined();
  });

  it('a file in the way is ENOTDIR, not a loop', async () => {
    const root = await tempDir();
    await writeFile(join(root, 'file'), 'x');
    await expect(makeDirectories(join(root, 'file', 'sub'))).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(makeDirectories(join(root, 'file'))).rejects.toMatchObject({ code: 'ENOTDIR' });
  });

  // Node's mkdir({ recursive: true }) spins for ever on this path. A child process
  // with a deadline, so a regression fails this test instead of hanging the suite.
  it.skipIf(process.platform !== 'linux')('a parent that refuses new entries (/proc/nope) fails at once, for writeBundle too', () => {
    const script = [
      "import { generateSigningKeyPem, makeDirectories, parseSigningKeyPem, writeBundle } from '@lumenflow/verifier';",
      "import { sampleHappyArtifacts } from './packages/verifier/test/support/sample-artifacts.ts';",
      "const codes = [await makeDirectories('/proc/nope/deeper').catch((e) => e.code)];",
      "const signingKey = parseSigningKeyPem(generateSigningKeyPem());",
      "const bundle = { outDir: '/proc/nope', runId: 'run-1', mode: 'happy', createdAt: '2026-11-23T10:00:00.000Z', artifacts: sampleHappyArtifacts(), signingKey };",
      "codes.push(await writeBundle(bundle).catch((e) => e.code));",
      'console.log(JSON.stringify(codes));',
    ].join('\n');
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot, encoding: 'utf8', timeout: 30_000 });
    expect(result.signal, 'the child had to be killed: mkdir looped').toBeNull();
    expect(result.stderr).toBe('');
    const [dirCode, bundleCode] = JSON.parse(result.stdout) as string[];
    expect(dirCode).toBe('ENOENT');
    expect(bundleCode).toBe('BUNDLE_WRITE_FAILED');
  });
});
