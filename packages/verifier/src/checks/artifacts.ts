// Family: artifacts. Plain, unique paths; the required files listed and present;
// sizes and SHA-256 digests as the manifest lists them (one streaming pass, artifact-pass.ts).
import { BUNDLE_METADATA_FILES, REQUIRED_ARTIFACTS } from '../constants.js';
import { isPlainFileName } from '../manifest-schema.js';
import { artifactPass } from './artifact-pass.js';
import { listNames } from './shared.js';
import { failed, notRun, passed } from './types.js';
import type { BundleContext, Outcome } from './types.js';

export const NEEDS_MANIFEST = 'needs a valid manifest';

export function checkArtifactPaths(ctx: BundleContext): Outcome {
  const { manifest } = ctx;
  if (!manifest) return notRun(NEEDS_MANIFEST);
  const badPaths: string[] = [];
  const duplicates: string[] = [];
  const seen = new Set<string>();
  for (const a of manifest.artifacts) {
    if (!isPlainFileName(a.path) || BUNDLE_METADATA_FILES.includes(a.path)) badPaths.push(JSON.stringify(a.path));
    else if (seen.has(a.path)) duplicates.push(a.path);
    seen.add(a.path);
  }
  for (const name of manifest.requiredArtifacts) if (!isPlainFileName(name)) badPaths.push(JSON.stringify(name));
  if (badPaths.length > 0) return failed('ARTIFACT_PATH_INVALID', `not plain file names: ${listNames(badPaths)}`);
  if (duplicates.length > 0) return failed('ARTIFACT_DUPLICATE', `listed more than once: ${listNames(duplicates)}`);
  return passed();
}

/** The verifier's own list of required files holds whatever the manifest claims. */
export async function checkArtifactsRequired(ctx: BundleContext): Promise<Outcome> {
  const { manifest } = ctx;
  if (!manifest) return notRun(NEEDS_MANIFEST);
  const listed = new Set(manifest.artifacts.map((a) => a.path));
  const unlisted = [...new Set([...REQUIRED_ARTIFACTS, ...manifest.requiredArtifacts])].filter(
    (name) => !listed.has(name) || !manifest.requiredArtifacts.includes(name),
  );
  const { missing } = await artifactPass(ctx, manifest);
  if (unlisted.length > 0) return failed('REQUIRED_ARTIFACT_UNLISTED', `required but not listed in the manifest: ${listNames(unlisted)}`);
  if (missing.length > 0) return failed('ARTIFACT_MISSING', `listed but absent: ${listNames(missing)}`);
  return passed(`${REQUIRED_ARTIFACTS.length} required files present`);
}

export async function checkArtifactDigests(ctx: BundleContext): Promise<Outcome> {
  const { manifest } = ctx;
  if (!manifest) return notRun(NEEDS_MANIFEST);
  const { unreadable, sizeMismatch, digestMismatch, missing, hashed } = await artifactPass(ctx, manifest);
  if (unreadable.length > 0) return failed('ARTIFACT_UNREADABLE', `cannot hash: ${listNames(unreadable)}`);
  if (sizeMismatch.length > 0) return failed('ARTIFACT_SIZE_MISMATCH', `size differs: ${listNames(sizeMismatch)}`);
  if (digestMismatch.length > 0) return failed('ARTIFACT_DIGEST_MISMATCH', `SHA-256 differs: ${listNames(digestMismatch)}`);
  if (missing.length > 0) return failed('ARTIFACT_MISSING', `cannot hash absent files: ${listNames(missing)}`);
  return passed(`${hashed} files, SHA-256 and size match`);
}
