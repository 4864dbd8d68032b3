// Writes docs/schemas/*.schema.json from the zod schemas, which are the single
// source of truth. `--check` exits 1 when a committed file is stale; the test
// suite runs the same comparison.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { renderSchemaFiles } from './schema-files.js';

const docs = resolve(import.meta.dirname, '..', 'docs', 'schemas');
const check = process.argv.includes('--check');
let stale = 0;
for (const [fileName, text] of renderSchemaFiles()) {
  const path = join(docs, fileName);
  if (check) {
    let current = '';
    try {
      current = readFileSync(path, 'utf8');
    } catch {
      // missing counts as stale
    }
    if (current !== text) {
      stale++;
      process.stderr.write(`stale: docs/schemas/${fileName} (run pnpm schemas:generate)\n`);
    }
  } else {
    writeFileSync(path, text);
    process.stdout.write(`wrote docs/schemas/${fileName}\n`);
  }
}
if (stale > 0) process.exitCode = 1;
