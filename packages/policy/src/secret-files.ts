import type { PolicyLayers } from './digest.js';
import { compileGlob } from './glob.js';
import type { CompiledGlob } from './glob.js';
import { resolveWorkspacePath } from './paths.js';

/**
 * Paths that hold secrets whatever the rules files say: dotenv files at any
 * depth. A rule adds more with `secretFile: true` (docs/rules.md).
 */
export const DEFAULT_SECRET_FILES: readonly string[] = Object.freeze(['**/.env', '**/.env.*']);

const cache = new WeakMap<PolicyLayers, (path: string) => boolean>();

/**
 * Whether a workspace path holds secrets: it matches {@link DEFAULT_SECRET_FILES}
 * or the path of an `fs.read`/`fs.write` rule marked `secretFile: true` in
 * either layer. Matched case-insensitively, like a deny: `.ENV` is `.env` on a
 * case-insensitive filesystem. A path leading outside the workspace is not
 * the workspace's to mark and answers false (Rules deny it anyway).
 */
export function isSecretFile(layers: PolicyLayers, path: string): boolean {
  let test = cache.get(layers);
  if (test === undefined) {
    const globs: CompiledGlob[] = [...DEFAULT_SECRET_FILES, ...secretFilePatterns(layers)].map((p) => compileGlob(p, { separator: '/', caseInsensitive: true }));
    test = (p) => globs.some((g) => g.test(p));
    cache.set(layers, test);
  }
  const resolved = resolveWorkspacePath(path);
  return resolved.ok && test(resolved.path);
}

/** The path globs the layers' rules mark `secretFile: true`, Cloud first. */
export function secretFilePatterns(layers: PolicyLayers): string[] {
  const out: string[] = [];
  for (const set of [layers.cloud, layers.local]) {
    for (const rule of set?.rules ?? []) {
      if (rule.secretFile === true && (rule.match.kind === 'fs.read' || rule.match.kind === 'fs.write')) out.push(rule.match.path);
    }
  }
  return out;
}
