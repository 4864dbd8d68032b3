// Long-polls waiting for a runtime's next dispatch. They are woken by the
// database's NOTIFY on the work channel (from this Cloud or another), never by a
// timer that polls.

export interface WorkWaiters {
  /** Registers before the caller reads the queue, so a dispatch in between is not missed. */
  register(runtimeId: string): { wait(ms: number): Promise<void>; cancel(): void; wakeNow(): void };
  wake(runtimeId: string): void;
  wakeAll(): void;
}

export function createWorkWaiters(): WorkWaiters {
  const waiters = new Map<string, Set<() => void>>();
  const wake = (runtimeId: string): void => {
    const set = waiters.get(runtimeId);
    if (set === undefined) return;
    waiters.delete(runtimeId);
    for (const fn of set) fn();
  };
  return {
    register: (runtimeId) => {
      let woken = false;
      let resolveWait: (() => void) | undefined;
      const fn = (): void => {
        woken = true;
        resolveWait?.();
      };
      const set = waiters.get(runtimeId) ?? new Set();
      set.add(fn);
      waiters.set(runtimeId, set);
      const cancel = (): void => {
        const current = waiters.get(runtimeId);
        current?.delete(fn);
        if (current?.size === 0) waiters.delete(runtimeId);
      };
      return {
        cancel,
        wakeNow: () => {
          cancel();
          fn();
        },
        wait: (ms) =>
          new Promise<void>((resolve) => {
            if (woken) return resolve();
            const timer = setTimeout(() => {
              cancel();
              resolve();
            }, ms);
            resolveWait = () => {
              clearTimeout(timer);
              resolve();
            };
          }),
      };
    },
    wake,
    wakeAll: () => {
      for (const id of [...waiters.keys()]) wake(id);
    },
  };
}
