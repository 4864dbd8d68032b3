import { isIP } from 'node:net';
import { canonicalizeHost } from '@lumenflow/policy';
import { egressListAllows } from '@lumenflow/protocol';
import type { EgressAllowList } from '@lumenflow/protocol';

/** A CONNECT target as the proxy judges it: the host in its one canonical form, and the port. */
export interface EgressTarget {
  readonly host: string;
  readonly port: number;
  /** 4 or 6 when the host is an address literal, 0 for a name. */
  readonly family: 0 | 4 | 6;
}

/**
 * Reads a CONNECT request's target (`host:port`, `[v6]:port`). The host is
 * brought to the form a resolver and a URL parser give (case, trailing dot,
 * IDN, the inet_aton spellings of an address), so a list entry meets every
 * spelling of its host. Undefined when it is not a host and port.
 */
export function parseConnectTarget(authority: string): EgressTarget | undefined {
  if (authority.length > 300) return undefined;
  const colon = authority.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const rawHost = authority.slice(0, colon);
  const rawPort = authority.slice(colon + 1);
  if (!/^[0-9]{1,5}$/.test(rawPort)) return undefined;
  const port = Number(rawPort);
  if (port < 1 || port > 65535) return undefined;
  // A bare IPv6 address must be bracketed, or its last group would read as the port.
  if (rawHost.includes(':') && !(rawHost.startsWith('[') && rawHost.endsWith(']'))) return undefined;
  const host = canonicalizeHost(rawHost);
  if (host === undefined || host.length > 253) return undefined;
  const family = isIP(host);
  return { host, port, family: family === 4 ? 4 : family === 6 ? 6 : 0 };
}

/** The allow-list as a predicate on a parsed target ({@link egressListAllows}: the one matcher Replay uses too). */
export function compileAllowList(list: EgressAllowList): (target: EgressTarget) => boolean {
  const allow = [...list.allow];
  return (target) => egressListAllows(allow, target.host, target.port);
}
