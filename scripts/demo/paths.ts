import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The repository root: the nearest folder above this module that holds
 * pnpm-workspace.yaml. Found by walking up rather than by a fixed `../..`, so
 * the same code works from its source file and from the launcher's bundle.
 */
export function findRepoRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no pnpm-workspace.yaml above ${from}`);
  }
}

export const REPO_ROOT = findRepoRoot(import.meta.dirname);
