// Family: manifest.json is strict JSON, in its one canonical spelling, of a supported schema.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ProtocolError, formatIssuePath, parseStrictJsonBytes } from '@lumenflow/protocol';
import { BUNDLE_KIND, BUNDLE_SCHEMA_VERSION, MANIFEST_FILE } from '../constants.js';
import { ManifestSchema } from '../manifest-schema.js';
import { readFileCapped } from '../read-capped.js';
import { isCanonicalJson } from './shared.js';
import { failed, notRun, passed } from './types.js';
import type { BundleContext, Outcome } from './types.js';

// Metadata files are small by construction; the cap keeps a hostile bundle from
// making the verifier allocate without bound.
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** Establishes manifestBytes, manifestSha256 (whenever the file reads) and parsedManifest. */
export async function checkManifestStrictJson(ctx: BundleContext): Promise<Outcome> {
  const read = await readFileCapped(join(ctx.root, MANIFEST_FILE), MAX_MANIFEST_BYTES);
  if (!read.ok) {
    const code = read.reason === 'missing' ? 'MANIFEST_MISSING' : read.reason === 'too-large' ? 'MANIFEST_TOO_LARGE' : 'MANIFEST_UNREADABLE';
    return failed(code, `${MANIFEST_FILE}: ${read.detail}`);
  }
  ctx.manifestBytes = read.bytes;
  ctx.manifestSha256 = createHash('sha256').update(read.bytes).digest('hex');
  try {
    ctx.parsedManifest = parseStrictJsonBytes(read.bytes);
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    return failed(error.code === 'JSON_DUPLICATE_KEY' ? 'MANIFEST_DUPLICATE_KEY' : 'MANIFEST_INVALID_JSON', `${MANIFEST_FILE}: ${error.message}`);
  }
  return passed();
}

export function checkManifestCanonical(ctx: BundleContext): Outcome {
  if (ctx.manifestBytes === undefined || ctx.parsedManifest === undefined) return notRun();
  if (isCanonicalJson(ctx.manifestBytes, ctx.parsedManifest)) return passed();
  return failed('MANIFEST_NOT_CANONICAL', `${MANIFEST_FILE} is not RFC 8785 canonical JSON (UTF-8, no BOM, no trailing newline)`);
}

/** Establishes manifest. */
export function checkManifestSchema(ctx: BundleContext): Outcome {
  const parsed = ctx.parsedManifest;
  if (parsed === undefined) return notRun();
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return failed('MANIFEST_SCHEMA_INVALID', `${MANIFEST_FILE} is not a JSON object`);
  }
  if (parsed['schemaVersion'] !== BUNDLE_SCHEMA_VERSION) {
    return failed('MANIFEST_SCHEMA_UNSUPPORTED', `schemaVersion ${JSON.stringify(parsed['schemaVersion'] ?? null)} is not supported; this verifier reads 1`);
  }
  if (parsed['bundleKind'] !== BUNDLE_KIND) {
    return failed('MANIFEST_BUNDLE_KIND_UNSUPPORTED', `bundleKind ${JSON.stringify(parsed['bundleKind'] ?? null)} is not ${BUNDLE_KIND}`);
  }
  const result = ManifestSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    return failed('MANIFEST_SCHEMA_INVALID', `${formatIssuePath(issue?.path ?? [])}: ${issue?.message ?? 'invalid'}`);
  }
  ctx.manifest = result.data;
  return passed(`schemaVersion 1, ${BUNDLE_KIND}`);
}
