import { z } from 'zod';

/**
 * The one spelling of where in a document a problem is: `artifacts[3].sha256`
 * (zod's own dotted form; a key that is not an identifier is quoted,
 * `["a b"]`), and `(root)` for the document itself.
 */
export function formatIssuePath(path: ReadonlyArray<PropertyKey>): string {
  return path.length === 0 ? '(root)' : z.core.toDotPath([...path]);
}
