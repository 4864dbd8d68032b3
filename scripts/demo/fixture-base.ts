// The bundled fixture's base branch as Cloud reads it for the `patch` provider:
// a git bundle checked in beside the fixture (`<fixture>.base.bundle`), with a
// manifest (`<fixture>.base.json`) of the files it was made from. A run uses the
// bundle only while the fixture still holds exactly those files; otherwise the
// CLI makes the base from the fixture as the runtime makes its workspace.
// `pnpm fixture:base` (write-fixture-base.ts) writes both again (docs/pull-requests.md).
import { createHash } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createSteppingClock } from '@lumenflow/protocol';
import { listFixtureFiles, prepareWorkspace, runGit } from '@lumenflow/runtime';

/** What the bundle was made from: the baseline commit and each file's SHA-256. */
export interface FixtureBaseManifest {
  baselineCommit: string;
  files: Record<string, string>;
}

/** The bundle and manifest paths beside a fixture directory. */
export function fixtureBasePaths(fixtureDir: string): { bundle: string; manifest: string } {
  const dir = resolve(fixtureDir);
  return { bundle: `${dir}.base.bundle`, manifest: `${dir}.base.json` };
}

/** SHA-256 of every file the runtime would copy from the fixture. */
export async function digestFixture(fixtureDir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const path of await listFixtureFiles(fixtureDir)) {
    files[path] = `sha256:${createHash('sha256')
      .update(await readFile(join(fixtureDir, path)))
      .digest('hex')}`;
  }
  return files;
}

/**
 * The checked-in bundle of `fixtureDir`'s base, when there is one and the
 * fixture still holds exactly the files it was made from; undefined otherwise.
 */
export async function findFixtureBase(fixtureDir: string): Promise<string | undefined> {
  const { bundle, manifest } = fixtureBasePaths(fixtureDir);
  let recorded: FixtureBaseManifest;
  try {
    recorded = JSON.parse(await readFile(manifest, 'utf8')) as FixtureBaseManifest;
  } catch {
    return undefined;
  }
  const current = await digestFixture(fixtureDir).catch(() => undefined);
  if (current === undefined || typeof recorded.files !== 'object' || recorded.files === null) return undefined;
  const paths = Object.keys(current);
  const same = paths.length === Object.keys(recorded.files).length && paths.every((path) => recorded.files[path] === current[path]);
  return same ? bundle : undefined;
}

/** Makes the fixture's base as the runtime makes its workspace and writes it as a bundle, with its manifest. */
export async function writeFixtureBase(fixtureDir: string): Promise<FixtureBaseManifest> {
  const { bundle, manifest } = fixtureBasePaths(fixtureDir);
  const base = await prepareWorkspace({ fixtureDir, clock: createSteppingClock(new Date(0)) });
  try {
    await runGit(base.dir, ['bundle', 'create', '--quiet', `${bundle}.tmp`, 'main']);
    await rename(`${bundle}.tmp`, bundle);
    const written: FixtureBaseManifest = { baselineCommit: base.baselineCommit, files: await digestFixture(fixtureDir) };
    await writeFile(manifest, `${JSON.stringify(written, null, 2)}\n`);
    return written;
  } finally {
    await base.dispose();
  }
}
