// The bundled fixture's checked-in base (scripts/demo/fixtures/calc.base.bundle):
// it holds exactly the baseline commit the runtime makes of the fixture, a run
// uses it only while the fixture still holds the files it was made from, and
// otherwise the CLI makes the base itself.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createSteppingClock } from '@lumenflow/protocol';
import { prepareWorkspace } from '@lumenflow/runtime';
import { DEMO_PATHS } from '../scripts/demo/commands/chain.js';
import { findFixtureBase, fixtureBasePaths } from '../scripts/demo/fixture-base.js';
import type { FixtureBaseManifest } from '../scripts/demo/fixture-base.js';
import { buildPullRequestConfig } from '../scripts/demo/pull-request-options.js';
import { REPO_ROOT } from './support/demo-chain.js';

const FIXTURE = join(REPO_ROOT, DEMO_PATHS.fixture);
const git = (cwd: string, args: string[]): string =>
  execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' } });

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lumenflow-fixture-base-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('the checked-in base of the bundled fixture', () => {
  test('holds exactly the baseline commit the runtime makes of the fixture (run `pnpm fixture:base` after changing the fixture)', async () => {
    const { bundle, manifest } = fixtureBasePaths(FIXTURE);
    const recorded = JSON.parse(await readFile(manifest, 'utf8')) as FixtureBaseManifest;
    const made = await prepareWorkspace({ fixtureDir: FIXTURE, clock: createSteppingClock(new Date(0)), tmpRoot: work });
    try {
      expect(recorded.baselineCommit).toBe(made.baselineCommit);
    } finally {
      await made.dispose();
    }
    expect(git(work, ['bundle', 'list-heads', bundle])).toBe(`${recorded.baselineCommit} refs/heads/main\n`);
    // A fetch from it brings the whole commit: git checks every object it unpacks.
    const scratch = join(work, 'fetched');
    git(work, ['init', '--quiet', '--bare', scratch]);
    git(scratch, ['fetch', '--quiet', bundle, 'refs/heads/main']);
    expect(git(scratch, ['fsck', '--strict', recorded.baselineCommit]).trim()).toBe('');
    expect(await findFixtureBase(FIXTURE)).toBe(bundle);
  });

  test('is not used once the fixture holds other files, or other bytes: the CLI makes the base', async () => {
    const edited = join(work, 'calc');
    await cp(FIXTURE, edited, { recursive: true });
    await cp(`${FIXTURE}.base.bundle`, `${edited}.base.bundle`);
    await cp(`${FIXTURE}.base.json`, `${edited}.base.json`);
    expect(await findFixtureBase(edited)).toBe(`${edited}.base.bundle`);
    await appendFile(join(edited, 'src', 'calc.js'), '// edited\n');
    expect(await findFixtureBase(edited)).toBeUndefined();
    await cp(join(FIXTURE, 'src', 'calc.js'), join(edited, 'src', 'calc.js'));
    await writeFile(join(edited, 'NOTES.md'), 'a file the base was not made from\n');
    expect(await findFixtureBase(edited)).toBeUndefined();

    const setup = await buildPullRequestConfig({ flags: {}, env: {}, outDir: join(work, 'out'), repoDir: undefined, fixtureDir: edited, clock: createSteppingClock(new Date(0)) });
    try {
      const remote = setup.config.remote ?? '';
      expect(remote.endsWith('.bundle')).toBe(false);
      const made = await prepareWorkspace({ fixtureDir: edited, clock: createSteppingClock(new Date(0)), tmpRoot: work });
      expect(git(remote, ['rev-parse', 'HEAD']).trim()).toBe(made.baselineCommit);
      await made.dispose();
    } finally {
      await setup.dispose();
    }
    expect(existsSync(setup.config.remote ?? '')).toBe(false);
  });

  test('a fixture with no base beside it has none', async () => {
    const plain = join(work, 'plain');
    await cp(FIXTURE, plain, { recursive: true });
    expect(await findFixtureBase(plain)).toBeUndefined();
  });
});
