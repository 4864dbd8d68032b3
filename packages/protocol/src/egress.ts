import { z } from 'zod';

// An agent process's network allow-list (docs/sandbox.md, ADR 0027): the
// grammar of one entry, and the record of what the runtime's egress proxy let
// through and refused. Pure: shared by the local rules file (policy), the
// runtime that enforces it and the node-session.json schema.

/** Entries in one allow-list, at most. */
export const MAX_EGRESS_ALLOW_ENTRIES = 64;
/** Destinations itemised in one session's egress record, at most; the rest are only counted. */
export const MAX_EGRESS_DESTINATIONS = 64;

const LABEL = '(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)';
// A DNS name of two or more labels whose last label is not all digits (that would be an address).
const NAME = `(?:${LABEL}\\.)+(?=[a-z0-9-]*[a-z])${LABEL}`;
const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4 = `${OCTET}(?:\\.${OCTET}){3}`;
const PORT = '(?:[1-9][0-9]{0,4})';
/** One entry: `name:port`, `*.name:port` or `a.b.c.d:port`, lower case, the port explicit. */
export const EGRESS_ENTRY_PATTERN = new RegExp(`^(?:(?:\\*\\.)?${NAME}|${IPV4}):${PORT}$`);
const IPV4_ONLY = new RegExp(`^${IPV4}$`);

/** A parsed allow-list entry. `wildcard`: `*.name` (one or more labels before `name`, never `name` itself). */
export interface EgressEntry {
  readonly host: string;
  readonly port: number;
  readonly wildcard: boolean;
  readonly address: boolean;
}

/**
 * Why a written entry is not one, in a line a person can act on; undefined
 * when it is one. Strict: one spelling per destination (lower case, no
 * trailing dot, no brackets, the port always written).
 */
export function egressEntryProblem(entry: string): string | undefined {
  if (entry.length > 260) return 'longer than a host name and port can be';
  const colon = entry.lastIndexOf(':');
  if (colon < 0) return `"${entry}" has no port; write <host>:<port>, e.g. api.example.com:443`;
  const host = entry.slice(0, colon);
  const port = entry.slice(colon + 1);
  if (host.includes('[') || host.includes(':')) return `"${entry}": IPv6 addresses are not accepted; name the host`;
  if (!/^[1-9][0-9]{0,4}$/.test(port) || Number(port) > 65535) return `"${entry}": the port must be a number from 1 to 65535`;
  if (host !== host.toLowerCase()) return `"${entry}": write the host in lower case`;
  if (host.endsWith('.')) return `"${entry}": no trailing dot`;
  if (host === '*' || (host.includes('*') && !host.startsWith('*.')) || host.slice(2).includes('*')) {
    return `"${entry}": a wildcard is only a whole first label, as in *.example.com:443`;
  }
  if (host.length > 253) return `"${entry}": a host name is at most 253 characters`;
  if (IPV4_ONLY.test(host)) return undefined;
  if (/^[0-9.]+$/.test(host)) return `"${entry}": not an IPv4 address in dotted decimal`;
  const name = host.startsWith('*.') ? host.slice(2) : host;
  if (!name.includes('.')) return `"${entry}": name a host of two or more labels (example.com, not example)`;
  if (!new RegExp(`^${NAME}$`).test(name)) return `"${entry}": not a host name (letters, digits and inner hyphens, labels of 1 to 63)`;
  return EGRESS_ENTRY_PATTERN.test(entry) ? undefined : `"${entry}" is not <host>:<port>`;
}

/** Parses an entry that {@link egressEntryProblem} accepts. */
export function parseEgressEntry(entry: string): EgressEntry {
  const colon = entry.lastIndexOf(':');
  const host = entry.slice(0, colon);
  const wildcard = host.startsWith('*.');
  return { host: wildcard ? host.slice(2) : host, port: Number(entry.slice(colon + 1)), wildcard, address: IPV4_ONLY.test(host) };
}

/**
 * Whether an allow-list lets a destination through: `host` in its canonical
 * form (lower case, no trailing dot, punycode, an IPv4 address in dotted
 * decimal, IPv6 without brackets). An exact entry matches its host, `*.name`
 * the names strictly under `name`, an address entry only that address; no
 * entry matches an IPv6 address.
 */
export function egressListAllows(allow: readonly string[], host: string, port: number): boolean {
  const address = IPV4_ONLY.test(host);
  return allow.some((written) => {
    const entry = parseEgressEntry(written);
    if (entry.port !== port || host.includes(':')) return false;
    if (entry.address || address) return entry.address && address && entry.host === host;
    return entry.wildcard ? host.endsWith(`.${entry.host}`) : host === entry.host;
  });
}

/** One allow-list entry, as the local rules file and node-session.json carry it. */
export const EgressEntrySchema = z
  .string()
  .superRefine((entry, ctx) => {
    const problem = egressEntryProblem(entry);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  })
  .regex(EGRESS_ENTRY_PATTERN, 'expected <host>:<port>');

/** `{ allow: [...] }`: the hosts an agent process may reach through the runtime's CONNECT proxy, and nothing else. */
export const EgressAllowListSchema = z.strictObject({
  allow: z
    .array(EgressEntrySchema)
    .min(1, 'an allow-list names at least one <host>:<port>; for no network write `network: none`')
    .max(MAX_EGRESS_ALLOW_ENTRIES)
    .superRefine((entries, ctx) => {
      const seen = new Map<string, number>();
      entries.forEach((entry, i) => {
        const first = seen.get(entry);
        if (first !== undefined) ctx.addIssue({ code: 'custom', path: [i], message: `"${entry}" is already entry ${first}` });
        else seen.set(entry, i);
      });
    }),
});

/**
 * Why the proxy refused a request, or why an allowed one was not connected:
 * `not-listed` (no entry matches), `non-public-address` (the name resolved to
 * no public address: loopback, private, link-local and the like),
 * `not-connect` (plain HTTP, an upgrade, or a target that is not host:port),
 * `too-many-connections` (over the bound), `not-resolved`, `unreachable`.
 */
export const EgressReasonSchema = z.enum(['not-listed', 'non-public-address', 'not-connect', 'too-many-connections', 'not-resolved', 'unreachable']);

const Count = z.number().int().min(0);

/**
 * What the egress proxy did for one session's agent: every request counted,
 * and per destination (host, port, outcome and reason) how many and how many
 * bytes. Requests without a host (`not-connect`) and those past the
 * destination bound are only counted (`omitted`).
 */
export const EgressRecordSchema = z.strictObject({
  /** Tunnels opened. */
  allowed: Count,
  /** Requests refused: not listed, a non-public address, not a CONNECT, over the bound. */
  denied: Count,
  /** Requests the list allowed that were not connected: no answer for the name, or no connection. */
  failed: Count,
  /** Bytes from the agent to its destinations, and back, over all tunnels. */
  bytesOut: Count,
  bytesIn: Count,
  destinations: z
    .array(
      z.strictObject({
        host: z.string().min(1).max(253),
        port: z.number().int().min(1).max(65535),
        outcome: z.enum(['allowed', 'denied', 'failed']),
        reason: EgressReasonSchema.optional(),
        requests: z.number().int().min(1),
        bytesOut: Count,
        bytesIn: Count,
      }),
    )
    .max(MAX_EGRESS_DESTINATIONS),
  /** Requests in the counts above that have no `destinations` entry. */
  omitted: Count,
});

export type EgressReason = z.infer<typeof EgressReasonSchema>;
export type EgressRecord = z.infer<typeof EgressRecordSchema>;
export type EgressAllowList = z.infer<typeof EgressAllowListSchema>;
