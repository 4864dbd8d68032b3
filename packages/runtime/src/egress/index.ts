import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EgressAllowList, EgressRecord } from '@lumenflow/protocol';
import { omitUndefined } from '@lumenflow/protocol';
import { EGRESS_FORWARDER_NAME, EGRESS_SOCKET_NAME, FORWARDER_SOURCE } from './forwarder.js';
import { startEgressProxy } from './proxy.js';
import type { EgressLookup, EgressProxyLimits, EgressProxyOptions } from './proxy.js';

export { compileAllowList, parseConnectTarget } from './allow-list.js';
export type { EgressTarget } from './allow-list.js';
export { isPermittedDestination } from './address.js';
export { createEgressLedger } from './record.js';
export type { EgressDecision } from './record.js';
export { DEFAULT_EGRESS_LIMITS, startEgressProxy } from './proxy.js';
export type { EgressLookup, EgressProxy, EgressProxyLimits, EgressProxyOptions } from './proxy.js';
export { EGRESS_MOUNT, EGRESS_PROXY_ENV, EGRESS_PROXY_PORT, FORWARDER_SOURCE } from './forwarder.js';

/** How a runtime runs its agents' egress proxies; tests alone set the last two. */
export interface EgressSettings {
  limits?: Partial<EgressProxyLimits>;
  onDecision?: EgressProxyOptions['onDecision'];
  lookup?: EgressLookup;
  /** TESTS ONLY (see {@link EgressProxyOptions.testOnlyPermitLoopback}). */
  testOnlyPermitLoopback?: boolean;
}

/**
 * One agent process's way out: a private directory (0700) with the proxy's
 * socket and the forwarder the sandbox starts, and the proxy listening on it.
 * `close` stops the proxy, removes the directory and returns the record.
 */
export async function openAgentEgress(allow: EgressAllowList, opts: EgressSettings & { tmpRoot?: string }): Promise<{ proxyDir: string; close(): Promise<EgressRecord> }> {
  const proxyDir = await mkdtemp(join(opts.tmpRoot ?? tmpdir(), 'lumenflow-egress-'));
  try {
    await chmod(proxyDir, 0o700);
    await writeFile(join(proxyDir, EGRESS_FORWARDER_NAME), FORWARDER_SOURCE, { mode: 0o444 });
    const proxy = await startEgressProxy({
      socketPath: join(proxyDir, EGRESS_SOCKET_NAME),
      allow,
      ...omitUndefined({ limits: opts.limits, onDecision: opts.onDecision, lookup: opts.lookup, testOnlyPermitLoopback: opts.testOnlyPermitLoopback }),
    });
    return {
      proxyDir,
      close: async () => {
        try {
          return await proxy.close();
        } finally {
          await rm(proxyDir, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    await rm(proxyDir, { recursive: true, force: true });
    throw error;
  }
}
