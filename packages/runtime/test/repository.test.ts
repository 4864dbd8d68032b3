import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { readServedRepository, repositoryFromRemoteUrl, runGit } from '@lumenflow/runtime';

test.each([
  ['https://github.com/acme/calc.git', 'acme/calc'],
  ['https://github.com/acme/calc', 'acme/calc'],
  ['git@github.com:acme/calc.git', 'acme/calc'],
  ['ssh://git@example.com:2222/acme/calc.git/', 'acme/calc'],
  ['/srv/git/acme/calc.git', 'acme/calc'],
  ['calc', undefined],
  ['https://example.com/a b/c', undefined],
])('the repository of remote %s is %s', (url, name) => {
  expect(repositoryFromRemoteUrl(url)).toBe(name);
});

test("a directory's repository is its origin remote, and none without one", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lumenflow-repo-'));
  try {
    expect(await readServedRepository(dir)).toBeUndefined();
    await runGit(dir, ['init', '--quiet']);
    expect(await readServedRepository(dir)).toBeUndefined();
    await runGit(dir, ['remote', 'add', 'origin', 'git@github.com:acme/widgets.git']);
    expect(await readServedRepository(dir)).toBe('acme/widgets');
    // A directory inside the work tree does not take the repository's name (it is not the repository).
    const sub = join(dir, 'sub');
    await mkdir(sub);
    expect(await readServedRepository(sub)).toBeUndefined();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
