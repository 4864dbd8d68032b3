import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runProcess, withTrustedPath } from '../src/process.js';

describe('tool processes never resolve a program from the workspace through a relative PATH entry', () => {
  let workspace: string;
  beforeEach(async () => {
    workspace = await mkdtemp(join(tmpdir(), 'lumenflow-path-'));
  });
  afterEach(async () => {
    await rm(workspace, { recursive: true, force: true });
  });

  it('runs the real node, not a planted ./node, when PATH starts with "." and an empty entry', async () => {
    const marker = join(workspace, 'planted-ran');
    await writeFile(join(workspace, 'node'), `#!/bin/sh\ntouch ${JSON.stringify(marker)}\necho planted\n`);
    await chmod(join(workspace, 'node'), 0o755);
    const env = { PATH: ['.', '', process.env['PATH'] ?? ''].join(delimiter) };

    const result = await runProcess('node', ['-e', 'process.stdout.write("real")'], { cwd: workspace, env });

    expect(result.stdout).toBe('real');
    await expect(stat(marker)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('keeps only absolute entries', () => {
    const env = withTrustedPath({ PATH: ['/usr/bin', '.', '', 'bin', '/bin'].join(delimiter), LC_ALL: 'C' });
    expect(env).toEqual({ PATH: ['/usr/bin', '/bin'].join(delimiter), LC_ALL: 'C' });
  });
});
