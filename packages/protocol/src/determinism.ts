/**
 * Injectable time and identity. Cloud and Runtime take these as parameters
 * so that a fixed run id, clock and key give byte-identical bundles.
 */
export interface Clock {
  /** The current time. A fixed clock may return a constant or step deterministically. */
  now(): Date;
}

export interface IdSource {
  /** A fresh identifier with the given prefix, e.g. `dec` → `dec_0001`. Must satisfy IdSchema. */
  next(prefix: string): string;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => new Date() };

/**
 * A clock that starts at `start` and advances by `stepMs` on every reading, so
 * timestamps stay ordered and durations non-zero while runs stay reproducible.
 */
export function createSteppingClock(start: Date, stepMs = 1): Clock {
  let t = start.getTime();
  if (!Number.isFinite(t)) throw new RangeError('createSteppingClock: start is not a valid date');
  return {
    now: () => {
      const current = new Date(t);
      t += stepMs;
      return current;
    },
  };
}

/** Sequential ids (`dec_0001`, `dec_0002`, …) per prefix. Deterministic by construction. */
export function createSequentialIds(): IdSource {
  const counters = new Map<string, number>();
  return {
    next: (prefix: string) => {
      const n = (counters.get(prefix) ?? 0) + 1;
      counters.set(prefix, n);
      return `${prefix}_${String(n).padStart(4, '0')}`;
    },
  };
}
