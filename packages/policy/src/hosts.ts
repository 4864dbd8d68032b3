// Host names reach Rules in many spellings that a resolver treats as one host:
// case, a trailing root dot, percent-escapes, full-width letters, IDN, and the
// inet_aton forms of an IPv4 address (`2130706433`, `0x7f.1`, `127.1`). A deny
// on `127.0.0.1` or an approval on `api.github.com` must meet them all, so a
// scope's host is brought to the one form the WHATWG URL host parser gives.

// Characters no host name holds; in a scope they are an attempt to confuse a matcher.
const NOT_IN_A_HOST = /[\s\p{C}*?{}[\],/\\@#]/u;

/**
 * The canonical form of a scope's host, or undefined when it is not a host at all.
 * IPv6 comes back without brackets; an IPv4-mapped IPv6 address comes back as IPv4.
 */
export function canonicalizeHost(raw: string): string | undefined {
  let host = raw;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host === '') return undefined;
  if (host.includes(':')) {
    if (!/^[0-9A-Fa-f:.]+$/.test(host)) return undefined;
    const parsed = parseHostname(`[${host}]`);
    if (parsed === undefined) return undefined;
    const v6 = parsed.slice(1, -1);
    const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(v6);
    if (mapped === null) return v6;
    const hi = parseInt(mapped[1] as string, 16);
    const lo = parseInt(mapped[2] as string, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  if (NOT_IN_A_HOST.test(host)) return undefined;
  let parsed = parseHostname(host);
  if (parsed === undefined) return undefined;
  if (parsed.endsWith('.')) parsed = parsed.slice(0, -1);
  if (parsed === '' || parsed.split('.').some((label) => label === '')) return undefined;
  return parsed;
}

/**
 * The form a rule's host pattern is compared in: canonical when it is a plain
 * host, else lowercased without brackets or a trailing root dot (a glob).
 */
export function normalizeHostPattern(pattern: string): string {
  if (!/[*?{}]/.test(pattern)) {
    const canonical = canonicalizeHost(pattern);
    if (canonical !== undefined) return canonical;
  }
  let h = pattern.toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.') && h.length > 1) h = h.slice(0, -1);
  return h;
}

function parseHostname(host: string): string | undefined {
  try {
    return new URL(`http://${host}/`).hostname;
  } catch {
    return undefined;
  }
}
