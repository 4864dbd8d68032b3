import { getEventListeners } from 'node:events';
import { describe, expect, test } from 'vitest';
import { settleUnlessInterrupted, settleWithin } from '../src/waits.js';

// The bounds and aborts of a run are the built-ins (AbortSignal.timeout/any, events.once);
// these check what the run relies on: which way a wait ended, and that it leaves no listener behind.

describe('settleWithin', () => {
  test('a promise that settles in time gives its value and leaves no listener on the caller\'s signal', async () => {
    const controller = new AbortController();
    await expect(settleWithin(Promise.resolve(7), 5_000, controller.signal)).resolves.toEqual({ timedOut: false, value: 7 });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  test('a promise that never settles times out', async () => {
    await expect(settleWithin(new Promise<never>(() => undefined), 20, undefined)).resolves.toEqual({ timedOut: true });
  });

  test("the caller's signal ends the wait with ABORTED, before or during it", async () => {
    const before = new AbortController();
    before.abort();
    await expect(settleWithin(new Promise<never>(() => undefined), 5_000, before.signal)).rejects.toMatchObject({ code: 'ABORTED' });
    const during = new AbortController();
    const waiting = settleWithin(new Promise<never>(() => undefined), 5_000, during.signal);
    during.abort(new Error('any reason'));
    await expect(waiting).rejects.toMatchObject({ code: 'ABORTED' });
  });

  test("the promise's own rejection passes through unchanged", async () => {
    const failure = new Error('runtime said no');
    await expect(settleWithin(Promise.reject(failure), 5_000, new AbortController().signal)).rejects.toBe(failure);
  });
});

describe('settleUnlessInterrupted', () => {
  test('many waits on one long-lived signal leave no listener on it', async () => {
    const controller = new AbortController();
    for (let i = 0; i < 50; i++) await settleUnlessInterrupted(Promise.resolve(i), controller.signal);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  test('an abort mid-wait is ABORTED', async () => {
    const controller = new AbortController();
    const waiting = settleUnlessInterrupted(new Promise<never>(() => undefined), controller.signal);
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'ABORTED' });
  });
});
