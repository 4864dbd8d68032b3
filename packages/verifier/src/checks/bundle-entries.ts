// Family: the bundle directory's entries. Kinds come from lstat: a link is judged
// as a link, never as its target. Every entry must be a metadata file or a listed artifact.
import type { Dirent } from 'node:fs';
import { BUNDLE_METADATA_FILES, REQUIRED_ARTIFACTS } from '../constants.js';
import { listNames } from './shared.js';
import { failed, passed } from './types.js';
import type { BundleContext, Outcome } from './types.js';

export function checkRegularFiles(ctx: BundleContext): Outcome {
  const notRegular = ctx.entries.filter((e) => !e.isFile()).map((e) => `${e.name} (${describeEntry(e)})`);
  if (notRegular.length > 0) return failed('NOT_REGULAR_FILE', `not regular files: ${listNames(notRegular)}`);
  return passed();
}

/** Needs manifest.schema to have run: without a valid manifest, the required artifacts are what may be present. */
export function checkEntriesAccounted(ctx: BundleContext): Outcome {
  const listed = ctx.manifest ? ctx.manifest.artifacts.map((a) => a.path) : REQUIRED_ARTIFACTS;
  const accounted = new Set<string>([...BUNDLE_METADATA_FILES, ...listed]);
  const unexpected = ctx.entries.map((e) => e.name).filter((name) => !accounted.has(name));
  if (unexpected.length > 0) return failed('UNEXPECTED_ENTRY', `not accounted for by the bundle: ${listNames(unexpected)}`);
  return passed();
}

function describeEntry(e: Dirent): string {
  if (e.isSymbolicLink()) return 'symbolic link';
  if (e.isDirectory()) return 'directory';
  if (e.isFIFO()) return 'fifo';
  if (e.isSocket()) return 'socket';
  return 'special file';
}
