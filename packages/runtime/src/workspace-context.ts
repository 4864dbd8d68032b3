import { readlinkSync, realpathSync } from 'node:fs';
import type { EvaluationContext } from '@lumenflow/policy';

/**
 * The context Rules need to judge a path inside a real workspace: symlinks are
 * followed, and a dangling one leads where a write through it would create a
 * file. The runtime and `--explain` both use this, so an operator's
 * explanation judges paths exactly as the runtime will.
 */
export function createWorkspaceContext(workspaceRoot: string): EvaluationContext {
  return { workspaceRoot, realpath: orUndefined(realpathSync), readlink: orUndefined(readlinkSync) };
}

// A path that does not exist (or is not a link) is an answer, not an error.
function orUndefined(read: (path: string) => string): (path: string) => string | undefined {
  return (path) => {
    try {
      return read(path);
    } catch {
      return undefined;
    }
  };
}
