import { describe, expect, it } from 'vitest';
import { createBatcher } from '../../src/store/batcher.js';

function recorder(fail?: (n: number) => boolean) {
  const batches: number[][] = [];
  const run = async (items: readonly number[]): Promise<string[]> => {
    batches.push([...items]);
    await new Promise((r) => setTimeout(r, 5));
    if (fail !== undefined && items.some(fail)) throw new Error(`bad item in ${items.join(',')}`);
    return items.map((n) => `r${n}`);
  };
  return { batches, run };
}

describe('createBatcher (group commit)', () => {
  it('batches the calls made in one turn of the event loop, and those made while a batch runs', async () => {
    const { batches, run } = recorder();
    const call = createBatcher(run, { maxItems: 10 });
    const results = await Promise.all([1, 2, 3, 4].map((n) => call(n)));
    expect(results).toEqual(['r1', 'r2', 'r3', 'r4']);
    expect(batches).toEqual([[1, 2, 3, 4]]);
    const first = call(5);
    await new Promise((r) => setTimeout(r, 1));
    // Batch [5] is running now: these wait for it and go together.
    const later = [call(6), call(7)];
    expect(await Promise.all([first, ...later])).toEqual(['r5', 'r6', 'r7']);
    expect(batches.slice(1)).toEqual([[5], [6, 7]]);
  });

  it('never puts more than maxItems in one batch', async () => {
    const { batches, run } = recorder();
    const call = createBatcher(run, { maxItems: 3 });
    await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((n) => call(n)));
    expect(batches).toEqual([[1, 2, 3], [4, 5, 6], [7, 8]]);
  });

  it('a failed batch is retried item by item: only the bad item fails its caller', async () => {
    const { batches, run } = recorder((n) => n === 3);
    const call = createBatcher(run, { maxItems: 10 });
    const settled = await Promise.allSettled([1, 2, 3, 4].map((n) => call(n)));
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(settled[2]).toMatchObject({ reason: { message: 'bad item in 3' } });
    expect(batches).toEqual([[1, 2, 3, 4], [1], [2], [3], [4]]);
  });

  it('a runner that answers with the wrong number of results fails the batch rather than misanswering', async () => {
    const call = createBatcher(async (items: readonly number[]) => (items.length > 1 ? ['only one'] : []), { maxItems: 10 });
    const settled = await Promise.allSettled([1, 2, 3].map((n) => call(n)));
    expect(settled.every((s) => s.status === 'rejected')).toBe(true);
  });
});
