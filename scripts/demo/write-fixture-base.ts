// `pnpm fixture:base`: writes the bundled fixture's checked-in base again, after
// the fixture changed (fixture-base.ts; test/fixture-base.test.ts checks it is current).
import { join } from 'node:path';
import { DEMO_PATHS } from './commands/chain.js';
import { fixtureBasePaths, writeFixtureBase } from './fixture-base.js';
import { REPO_ROOT } from './paths.js';

const fixture = join(REPO_ROOT, DEMO_PATHS.fixture);
const written = await writeFixtureBase(fixture);
process.stdout.write(`wrote ${fixtureBasePaths(fixture).bundle} at ${written.baselineCommit}\n`);
