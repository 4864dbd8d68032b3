import { canonicalizeToBytes, computeSha256Digest } from '@lumenflow/protocol';
import type { RuleSet } from './rules-file.js';

/** The rules in force: the organisation's Cloud policy and, optionally, a runtime-local one that may only tighten. */
export interface PolicyLayers {
  cloud: RuleSet;
  local?: RuleSet;
}

const cache = new WeakMap<RuleSet, Map<RuleSet | null, string>>();

/**
 * `sha256:<hex>` of the RFC 8785 canonical form of `{ cloud, local }`, where each
 * is the validated rules document (local omitted when absent). The same rules
 * give the same digest whether written as JSON or YAML, in any key order.
 */
export function computePolicyDigest(layers: PolicyLayers): string {
  if (layers === null || typeof layers !== 'object' || layers.cloud === undefined) {
    throw new TypeError('computePolicyDigest: layers.cloud is required');
  }
  let byLocal = cache.get(layers.cloud);
  if (byLocal === undefined) {
    byLocal = new Map();
    cache.set(layers.cloud, byLocal);
  }
  const key = layers.local ?? null;
  let digest = byLocal.get(key);
  if (digest === undefined) {
    digest = computeSha256Digest(canonicalizeToBytes({ cloud: layers.cloud.document, local: layers.local?.document }));
    byLocal.set(key, digest);
  }
  return digest;
}
