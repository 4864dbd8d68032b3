import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { formatIssuePath } from '@lumenflow/protocol';

describe('formatIssuePath, the one spelling of a zod issue path', () => {
  it.each([
    [['artifacts', 3, 'sha256'], 'artifacts[3].sha256'],
    [['requestedScopes', 2, 'kind'], 'requestedScopes[2].kind'],
    [[0], '[0]'],
    [['a b', 'c'], '["a b"].c'],
    [[], '(root)'],
  ] as const)('%j is %s', (path, expected) => {
    expect(formatIssuePath(path)).toBe(expected);
  });

  it('reads a real zod issue path', () => {
    const result = z.strictObject({ artifacts: z.array(z.strictObject({ sha256: z.string().length(64) })) }).safeParse({ artifacts: [{ sha256: 'x' }] });
    expect(result.success).toBe(false);
    expect(formatIssuePath(result.error?.issues[0]?.path ?? [])).toBe('artifacts[0].sha256');
  });
});
