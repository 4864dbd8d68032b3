// Group commit for the store's hottest writes (evidence appends, request nonces).
// Calls made while a batch is in flight wait and go together in the next one: one
// statement and one commit for many requests, where each request alone paid a
// commit (a WAL flush, with fsync on a server). Nobody waits on a timer: an idle
// store runs a call after one turn of the event loop, a busy one batches the calls
// that arrived in that turn or while it was busy. Each caller still gets its own
// answer only after its batch committed.

/** Runs a batch of items; returns one result per item, in order. */
export type BatchRunner<I, O> = (items: readonly I[]) => Promise<O[]>;

export interface BatcherOptions {
  /** Items per batch at most (a batch is one statement: keep its parameters bounded). */
  maxItems: number;
}

interface Pending<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
}

/**
 * Returns a function that queues one item and resolves with its result once the
 * batch it went into has committed. When a batch of several fails, each of its
 * items is run again alone, so one bad item fails only its own caller (a failed
 * batch wrote nothing: it was one statement or one transaction).
 */
export function createBatcher<I, O>(run: BatchRunner<I, O>, opts: BatcherOptions): (item: I) => Promise<O> {
  const queue: Pending<I, O>[] = [];
  let running = false;

  const settle = async (batch: Pending<I, O>[]): Promise<void> => {
    try {
      const results = await run(batch.map((p) => p.item));
      if (results.length !== batch.length) throw new RangeError(`a batch of ${batch.length} returned ${results.length} results`);
      batch.forEach((p, i) => p.resolve(results[i] as O));
    } catch (error) {
      if (batch.length === 1) {
        (batch[0] as Pending<I, O>).reject(error);
        return;
      }
      for (const p of batch) await settle([p]);
    }
  };

  const drain = async (): Promise<void> => {
    running = true;
    try {
      // One turn of the event loop first: the requests whose bytes arrived together reach
      // this queue together (an embedded database runs a statement synchronously, so
      // nothing else would queue while it runs).
      await new Promise<void>((resolve) => setImmediate(resolve));
      while (queue.length > 0) await settle(queue.splice(0, opts.maxItems));
    } finally {
      running = false;
    }
  };

  return (item) =>
    new Promise<O>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      if (!running) void drain();
    });
}
