import { once } from 'node:events';
import { CloudError } from './errors.js';

/**
 * Checks a caller's bound on a wait.
 *
 * @throws {RangeError} unless `ms` is a positive whole number of milliseconds.
 */
export function checkTimeout(ms: number): void {
  if (!Number.isSafeInteger(ms) || ms < 1) throw new RangeError(`timeout must be a positive whole number of milliseconds, got ${ms}`);
}

/** The one error a run or a wait ends with when its caller's signal fires. */
export function createAbortedError(): CloudError {
  return new CloudError('ABORTED', 'the run was interrupted');
}

/** @throws {CloudError} ABORTED when `signal` has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw createAbortedError();
}

/**
 * Settles as `promise` does, or rejects with `signal.reason` when the signal fires first.
 * The abort listener lives only as long as the wait: a long-lived signal must not
 * collect one listener per wait (that leak was fixed here once already).
 */
export async function settleUnlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted();
  const done = new AbortController();
  const aborted = once(signal, 'abort', { signal: done.signal }).then((): never => {
    throw signal.reason;
  });
  try {
    return await Promise.race([promise, aborted]);
  } finally {
    done.abort();
  }
}

/**
 * Settles as `promise` does, unless the run's `signal` fires first.
 *
 * @throws {CloudError} ABORTED when it does; whatever `promise` rejects with.
 */
export async function settleUnlessInterrupted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  try {
    return await settleUnlessAborted(promise, signal);
  } catch (error) {
    throwIfAborted(signal);
    throw error;
  }
}

/** What a bounded wait on the runtime saw. */
export type BoundedWait<T> = { timedOut: false; value: T } | { timedOut: true };

/**
 * Waits for `promise` at most `timeoutMs`: the bound is an `AbortSignal.timeout`,
 * whose timer never keeps the process alive.
 *
 * @throws {CloudError} ABORTED when the caller's `signal` fires first; whatever `promise` rejects with.
 */
export async function settleWithin<T>(promise: Promise<T>, timeoutMs: number, signal: AbortSignal | undefined): Promise<BoundedWait<T>> {
  throwIfAborted(signal);
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    return { timedOut: false, value: await settleUnlessAborted(promise, anySignal(signal, timeout)) };
  } catch (error) {
    throwIfAborted(signal);
    if (timeout.aborted && error === timeout.reason) return { timedOut: true };
    throw error;
  }
}

/**
 * Waits for one `type` event on `target`, or until `signal` fires.
 *
 * @returns whether the event came (false: the signal fired first).
 */
export async function awaitEvent(target: EventTarget, type: string, signal: AbortSignal): Promise<boolean> {
  try {
    await once(target, type, { signal });
    return true;
  } catch (error) {
    if (signal.aborted) return false;
    throw error;
  }
}

/** One signal that fires when any given one does. */
export function anySignal(...signals: readonly (AbortSignal | undefined)[]): AbortSignal {
  return AbortSignal.any(signals.filter((s): s is AbortSignal => s !== undefined));
}
