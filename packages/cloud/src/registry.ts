import type { RuntimeHost } from '@lumenflow/protocol';

/** An enrolled runtime as Cloud knows it: its verified public key and what it reported. */
export interface EnrolledRuntime {
  runtimeId: string;
  keyId: string;
  publicKey: Uint8Array;
  labels: string[];
  version: string;
  host: RuntimeHost;
}

/**
 * Picks the runtime for an Ask: the first by id among those carrying every
 * label the Ask needs. Ordering by id keeps dispatch reproducible.
 */
export function selectRuntime(runtimes: Iterable<EnrolledRuntime>, requiredLabels: readonly string[]): EnrolledRuntime | undefined {
  const candidates = [...runtimes]
    .filter((r) => requiredLabels.every((label) => r.labels.includes(label)))
    .sort((a, b) => (a.runtimeId < b.runtimeId ? -1 : a.runtimeId > b.runtimeId ? 1 : 0));
  return candidates[0];
}
