#!/usr/bin/env node
// `pnpm demo:trusted-compute` starts here. It runs the demo CLI from one
// esbuild bundle of its TypeScript sources instead of transpiling ~150 modules
// through tsx on every start, which was most of a demo run's time over its
// floor. The bundle lives in the git-ignored .lumenflow/build/ and is rebuilt
// whenever any source, package manifest or the lockfile is newer than it, so a
// stale bundle never runs. If a build fails, the CLI runs through tsx instead.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = resolve(import.meta.dirname, '../..');
const entry = join(root, 'scripts/demo/trusted-compute.ts');
const bundle = join(root, '.lumenflow/build/trusted-compute.mjs');
// Folders that never feed the CLI's module graph.
const SKIP = new Set(['node_modules', 'test', 'fixtures', 'vectors', 'golden', 'asks', 'rules']);

function newestMtime(dir, newest) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return newest;
  }
  for (const item of entries) {
    const path = join(dir, item.name);
    if (item.isDirectory()) {
      if (!SKIP.has(item.name)) newest = newestMtime(path, newest);
    } else if (item.name.endsWith('.ts') || item.name === 'package.json') {
      newest = Math.max(newest, statSync(path).mtimeMs);
    }
  }
  return newest;
}

function isFresh() {
  if (!existsSync(bundle)) return false;
  let newest = statSync(join(root, 'pnpm-lock.yaml')).mtimeMs;
  newest = Math.max(newest, statSync(join(root, 'package.json')).mtimeMs);
  newest = newestMtime(join(root, 'packages'), newest);
  newest = newestMtime(join(root, 'scripts/demo'), newest);
  return statSync(bundle).mtimeMs >= newest;
}

async function buildBundle() {
  const { build } = await import('esbuild');
  mkdirSync(join(root, '.lumenflow/build'), { recursive: true });
  // Written aside and renamed, so a concurrent run never loads half a bundle.
  const temp = `${bundle}.${process.pid}.tmp.mjs`;
  try {
    await build({
      entryPoints: [entry],
      outfile: temp,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      // pino resolves worker files by path at run time, and PGlite its WASM and data files
      // next to its module: they load from node_modules (pg goes with them).
      external: ['pino', '@electric-sql/pglite', 'pg'],
      // commander and other CommonJS dependencies call require() inside an ES module.
      banner: { js: "import { createRequire as __lumenflowRequire } from 'node:module'; const require = __lumenflowRequire(import.meta.url);" },
      logLevel: 'silent',
    });
    renameSync(temp, bundle);
  } finally {
    rmSync(temp, { force: true });
  }
}

let target = bundle;
try {
  if (!isFresh()) await buildBundle();
} catch {
  // Slower, never wrong: run the sources through tsx.
  const { register } = await import('tsx/esm/api');
  register();
  target = entry;
}
await import(pathToFileURL(target).href);
