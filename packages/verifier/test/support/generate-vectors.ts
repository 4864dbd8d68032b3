// Regenerates packages/verifier/test/vectors from the TEST-ONLY keys:
//   pnpm --filter @lumenflow/verifier vectors:generate
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeVectors } from './vector-corpus.js';

const root = join(import.meta.dirname, '..', 'vectors');
await rm(root, { recursive: true, force: true });
const count = await writeVectors(root);
process.stdout.write(`wrote ${count} vectors under ${root}\n`);
