// The calc fixture's baseline as a git repository, built the way a runtime builds
// its workspace (the baseline commit is dated by a fixed date, so its id depends
// on the content only): what `--pr patch --pr-remote` reads the base commit from
// when the runtime served the bundled fixture.
import { join } from 'node:path';
import { createSteppingClock } from '@lumenflow/protocol';
import { prepareWorkspace } from '@lumenflow/runtime';

export const CALC_FIXTURE = join(import.meta.dirname, '../../scripts/demo/fixtures/calc');

/** A repository at the fixture's baseline commit; dispose removes it. */
export async function fixtureBase(): Promise<{ dir: string; dispose(): Promise<void> }> {
  const base = await prepareWorkspace({ fixtureDir: CALC_FIXTURE, clock: createSteppingClock(new Date()) });
  return { dir: base.dir, dispose: () => base.dispose() };
}
