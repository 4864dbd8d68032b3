#!/usr/bin/env node
// `pnpm demo:trusted-compute` starts here. It runs the demo CLI from one
// esbuild bundle of its TypeScript sources instead of transpiling ~150 modules
// through tsx on every start, which was most of a demo run's time over its
// floor. The bundle lives in the git-ignored .lumenflow/build/ and is rebuilt
// whenever any source, package manifest or the lockfile is newer than it, so a
// stale bundle never runs. If a build fails, the CLI runs through tsx instead.
//
// The bundle is CommonJS so that it can be compiled through vm.Script with a V8
// code cache (Node 20 has no module compile cache): the first run of a command
// saves V8's compiled code, later runs skip most parsing and compiling (ADR 0039).
// V8 checks a cache only against the source's length, so each cache file starts
// with the SHA-256 of the exact source it was made from, and any other is unused.
import { Buffer, isAscii } from 'node:buffer';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Script } from 'node:vm';

const root = resolve(import.meta.dirname, '../..');
const entry = join(root, 'scripts/demo/trusted-compute.ts');
const cliModule = join(root, 'scripts/demo/cli.ts');
const bundle = join(root, '.lumenflow/build/trusted-compute.cjs');
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
  // This file holds the build's options.
  newest = Math.max(newest, statSync(import.meta.filename).mtimeMs);
  newest = newestMtime(join(root, 'packages'), newest);
  newest = newestMtime(join(root, 'scripts/demo'), newest);
  return statSync(bundle).mtimeMs >= newest;
}

async function buildBundle() {
  const { build } = await import('esbuild');
  mkdirSync(join(root, '.lumenflow/build'), { recursive: true });
  // Written aside and renamed, so a concurrent run never loads half a bundle.
  const temp = `${bundle}.${process.pid}.tmp`;
  try {
    await build({
      entryPoints: [cliModule],
      outfile: temp,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      // PGlite loads its WASM and data files from next to its module: it loads from
      // node_modules (pg goes with it). pino is bundled: the demo writes its log
      // through pino.destination and multistream, never a transport (the one part
      // of pino that loads worker files by path).
      external: ['@electric-sql/pglite', 'pg'],
      // import() of those becomes require(): a vm.Script has no loader for import()
      // without an experimental option. Node 20.19 and later require() ES modules
      // (PGlite) as they import them.
      supported: { 'dynamic-import': false },
      // scripts/demo/paths.ts finds the repository by walking up from here.
      define: { 'import.meta.dirname': '__dirname' },
      // No comments or indentation: a third less to read and parse, and the source
      // is ASCII (esbuild escapes the rest), which V8 keeps as a one-byte string.
      minifyWhitespace: true,
      logLevel: 'silent',
    });
    renameSync(temp, bundle);
  } finally {
    rmSync(temp, { force: true });
  }
}

/** Which command's code cache to use, guessed from argv as the CLI reads it (a wrong guess is only slower). */
function guessCommand(argv) {
  const names = { run: 'run', '--mode': 'run', verify: 'verify', '--verify': 'verify', replay: 'replay', '--replay': 'replay', explain: 'explain', '--explain': 'explain' };
  for (const arg of argv) {
    const name = names[arg.split('=')[0]];
    if (name !== undefined) return name;
  }
  return 'none';
}

function readCache(file, sourceDigest) {
  try {
    const data = readFileSync(file);
    return data.subarray(0, 32).equals(sourceDigest) ? data.subarray(32) : undefined;
  } catch {
    return undefined;
  }
}

function writeCache(file, sourceDigest, script) {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, Buffer.concat([sourceDigest, script.createCachedData()]));
    renameSync(temp, file);
  } catch {
    // A cache is only a speed-up: a read-only checkout runs without one.
    rmSync(temp, { force: true });
  }
}

/**
 * Compiles and evaluates the bundle with its command's code cache. Returns a
 * function that runs the CLI and then saves a cache for that command when it
 * had none; throws when the bundle cannot be loaded (unreadable, not valid
 * JavaScript, no main).
 */
function loadBundle(argv) {
  const bytes = readFileSync(bundle);
  const source = isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
  const sourceDigest = createHash('sha256').update(bytes).digest();
  const guessed = guessCommand(argv);
  const cacheFile = `${bundle}.${guessed}.v8cache`;
  // --help and usage errors borrow the run command's cache (same source) and never write one.
  const cachedData = readCache(guessed === 'none' ? `${bundle}.run.v8cache` : cacheFile, sourceDigest);
  // The function CommonJS wraps a module in; the bundle is one module.
  const wrapped = `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
  const script = new Script(wrapped, { filename: bundle, ...(cachedData === undefined ? {} : { cachedData }) });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dirname(bundle));
  const { main } = module.exports;
  if (typeof main !== 'function') throw new Error(`${bundle} has no main`);
  return async () => {
    let chosen;
    const code = await main(argv, (name) => (chosen = name));
    const cacheUsed = cachedData !== undefined && !script.cachedDataRejected;
    if (chosen === guessed && !cacheUsed) writeCache(cacheFile, sourceDigest, script);
    return code;
  };
}

const argv = process.argv.slice(2);
let run;
try {
  if (!isFresh()) await buildBundle();
  run = loadBundle(argv);
} catch {
  // A bundle that does not load (a torn or edited file) is built again, once.
  try {
    await buildBundle();
    run = loadBundle(argv);
  } catch {
    run = undefined;
  }
}
if (run !== undefined) {
  process.exitCode = await run();
} else {
  // Slower, never wrong: run the sources through tsx.
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(entry).href);
}
