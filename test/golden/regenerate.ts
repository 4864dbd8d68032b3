// Rewrites test/golden/<mode>/ from a fresh fixed-seed run. Run it only when a
// change to the bundle is intended, and review the diff: third parties depend on these bytes.
//   pnpm exec tsx test/golden/regenerate.ts
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GOLDEN_DIR, GOLDEN_MODES, runGoldenChain } from './golden-run.js';

const work = await mkdtemp(join(tmpdir(), 'lumenflow-golden-'));
try {
  for (const mode of GOLDEN_MODES) {
    const result = await runGoldenChain(mode, work);
    await rm(join(GOLDEN_DIR, mode), { recursive: true, force: true });
    await cp(result.dir, join(GOLDEN_DIR, mode), { recursive: true });
    process.stdout.write(`wrote test/golden/${mode} (${result.ending})\n`);
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
