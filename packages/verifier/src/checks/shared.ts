import { timingSafeEqual } from 'node:crypto';
import { canonicalize } from '@lumenflow/protocol';
import type { JsonValue } from '@lumenflow/protocol';

const MAX_LISTED = 10;

/** True when `bytes` are exactly the RFC 8785 form of the value parsed from them. */
export function isCanonicalJson(bytes: Uint8Array, parsed: JsonValue): boolean {
  return Buffer.from(bytes).equals(Buffer.from(canonicalize(parsed), 'utf8'));
}

export function hexEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** At most ten names, then a count of the rest. */
export function listNames(names: readonly string[]): string {
  const shown = names.slice(0, MAX_LISTED).join(', ');
  return names.length > MAX_LISTED ? `${shown} and ${names.length - MAX_LISTED} more` : shown;
}
