import { computeKeyId, encodePublicKeyDer, parsePublicKeyPem } from '@lumenflow/verifier';
import type { CloudStore, RuntimeRow } from '../store/cloud-store.js';

// Runtimes as this Cloud process sees them: the enrolled keys (cached; the table
// holds one row per runtime, so this grows with runtimes, never with history) and
// liveness. Liveness merges what this process saw with what the database says
// other Clouds saw, so a runtime connected to another Cloud counts as online.

export type RuntimeStatus = 'online' | 'lost';

export interface RuntimeSummary {
  runtimeId: string;
  keyId: string;
  publicKeyPem: string;
  labels: string[];
  status: RuntimeStatus;
  lastSeenAt: string;
}

export interface CachedRuntime extends RuntimeRow {
  publicKey: Uint8Array;
}

export interface RuntimeRegistry {
  /** The enrolled key, from the cache only (sync, for request checks). */
  lookupKey(runtimeId: string): Uint8Array | undefined;
  get(runtimeId: string): CachedRuntime | undefined;
  /** Loads a runtime enrolled through another Cloud into the cache. */
  ensure(runtimeId: string): Promise<CachedRuntime | undefined>;
  add(row: RuntimeRow): void;
  /** This runtime spoke now (written to the database in batches). */
  seen(runtimeId: string, atMs: number): void;
  /** Its long-poll connection dropped before the answer. */
  dropped(runtimeId: string, atMs: number): void;
  isOnline(runtimeId: string, nowMs: number): boolean;
  list(nowMs: number): RuntimeSummary[];
  /** Writes the last-seen times and reads every runtime's state back. Returns the runtimes that went lost or came back. */
  sync(nowMs: number): Promise<{ lost: string[]; back: string[] }>;
}

export function createRuntimeRegistry(opts: { store: CloudStore; heartbeatIntervalMs: number; missedHeartbeats: number; startedAtMs: number }): RuntimeRegistry {
  const cache = new Map<string, CachedRuntime>();
  const localSeen = new Map<string, number>();
  const localDropped = new Map<string, number>();
  const pendingSeen = new Map<string, number>();
  const lostNow = new Set<string>();
  // Lost: silent for `missedHeartbeats` intervals, or its long-poll connection dropped (the
  // process stopped) and it has not spoken again within one reconnect grace. A runtime keeps a
  // poll open whenever it is idle, so a stopped one is found in about a second, not three intervals.
  const reconnectGraceMs = Math.min(1_000, opts.heartbeatIntervalMs);

  const toCached = (row: RuntimeRow): CachedRuntime | undefined => {
    try {
      const publicKey = parsePublicKeyPem(row.publicKeyPem);
      // A row whose key does not hash to its key id fails closed: it cannot authenticate.
      return computeKeyId(encodePublicKeyDer(publicKey)) === row.keyId ? { ...row, publicKey } : undefined;
    } catch {
      return undefined;
    }
  };
  const lastSeenOf = (r: CachedRuntime): number => Math.max(r.lastSeenMs, localSeen.get(r.runtimeId) ?? 0, opts.startedAtMs);
  const droppedOf = (r: CachedRuntime): number | undefined => {
    const local = localDropped.get(r.runtimeId);
    const remote = r.droppedMs ?? undefined;
    const at = local === undefined ? remote : remote === undefined ? local : Math.max(local, remote);
    return at !== undefined && at >= lastSeenOf(r) ? at : undefined;
  };
  const isLost = (r: CachedRuntime, now: number): boolean => {
    const dropped = droppedOf(r);
    return now - lastSeenOf(r) > opts.heartbeatIntervalMs * opts.missedHeartbeats || (dropped !== undefined && now - dropped > reconnectGraceMs);
  };

  return {
    lookupKey: (id) => cache.get(id)?.publicKey,
    get: (id) => cache.get(id),
    ensure: async (id) => {
      const hit = cache.get(id);
      if (hit !== undefined) return hit;
      const row = await opts.store.getRuntime(id);
      const cached = row === undefined ? undefined : toCached(row);
      if (cached !== undefined) cache.set(id, cached);
      return cached;
    },
    add: (row) => {
      const cached = toCached(row);
      if (cached !== undefined) cache.set(row.runtimeId, cached);
    },
    seen: (id, at) => {
      localSeen.set(id, at);
      localDropped.delete(id);
      pendingSeen.set(id, at);
    },
    dropped: (id, at) => {
      localDropped.set(id, at);
      void opts.store.markDropped(id, at).catch(() => undefined);
    },
    isOnline: (id, now) => {
      const r = cache.get(id);
      return r !== undefined && !isLost(r, now);
    },
    list: (now) =>
      [...cache.values()]
        .sort((a, b) => (a.runtimeId < b.runtimeId ? -1 : 1))
        .map((r) => ({
          runtimeId: r.runtimeId,
          keyId: r.keyId,
          publicKeyPem: r.publicKeyPem,
          labels: [...r.labels],
          status: isLost(r, now) ? 'lost' : 'online',
          lastSeenAt: new Date(lastSeenOf(r)).toISOString(),
        })),
    sync: async (now) => {
      const batch = new Map(pendingSeen);
      pendingSeen.clear();
      await opts.store.touchRuntimes(batch);
      for (const row of await opts.store.listRuntimes()) {
        const cached = cache.get(row.runtimeId);
        if (cached === undefined) {
          const fresh = toCached(row);
          if (fresh !== undefined) cache.set(row.runtimeId, fresh);
          continue;
        }
        cached.lastSeenMs = row.lastSeenMs;
        cached.droppedMs = row.droppedMs;
      }
      const lost: string[] = [];
      const back: string[] = [];
      for (const r of cache.values()) {
        const isNowLost = isLost(r, now);
        if (isNowLost && !lostNow.has(r.runtimeId)) {
          lostNow.add(r.runtimeId);
          lost.push(r.runtimeId);
        } else if (!isNowLost && lostNow.delete(r.runtimeId)) back.push(r.runtimeId);
      }
      return { lost, back };
    },
  };
}
