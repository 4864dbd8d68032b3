import { RESERVED_RULE_IDS, toDecisionRecord } from '@lumenflow/policy';
import type { Clock, IdSource } from '@lumenflow/protocol';
import { attributeChanges } from '../sandbox/attribute.js';
import { findSecretInFile } from '../secrets.js';
import type { SecretCheck } from '../secrets.js';
import type { Snapshot, Snapshotter } from '../sandbox/snapshot.js';
import type { EvidenceSink } from './evidence.js';
import type { Judge } from './judge.js';

/**
 * Judges every change a tool process made as an fs.write of that call (Rules
 * and the Ask's grant), reverts what is not allowed, and records one decision
 * per change. Returns how many changes were kept.
 */
export async function judgeChanges(opts: {
  snapshotter: Snapshotter;
  before: Snapshot;
  judge: Judge;
  evidence: EvidenceSink;
  toolCallId: string;
  meta: { runId: string; askId: string };
  ids: IdSource;
  clock: Clock;
  log: (event: string, fields: Record<string, unknown>) => void;
  /** Finds the secrets a written file may not hold (ADR 0035). */
  secrets: SecretCheck;
  workspaceDir: string;
}): Promise<number> {
  const judge = (path: string) => opts.judge.decide({ kind: 'fs.write', path });
  // A secret the process brought into the workspace would go into the diff: refused like a write_file holding one.
  const inspect = async (path: string) => {
    const kind = await findSecretInFile(opts.workspaceDir, path, opts.secrets);
    if (kind === undefined) return undefined;
    const reason =
      kind === 'oversized'
        ? 'the file is too large to check for secrets, so it may not enter the change'
        : `the new content holds a secret (${kind}); a change may not carry a secret, so the write was reverted, not redacted`;
    return { ...judge(path), effect: 'deny' as const, matchedRuleIds: [], decidingRuleId: RESERVED_RULE_IDS.secretInContent, reason, warnings: [] };
  };
  const { changes } = await attributeChanges({
    snapshotter: opts.snapshotter,
    before: opts.before,
    judge,
    inspect,
    tooMany: (count, firstPath) => ({
      ...judge(firstPath),
      effect: 'deny',
      matchedRuleIds: [],
      decidingRuleId: RESERVED_RULE_IDS.tooManyChanges,
      reason: `the call changed ${count} workspace paths, more than the runtime judges one by one; every change was reverted`,
      warnings: [],
    }),
  });
  for (const change of changes) {
    const record = {
      ...toDecisionRecord(change.decision, { decisionId: opts.ids.next('rdec'), timestamp: opts.clock.now().toISOString(), ...opts.meta, evaluatedAt: 'runtime' }),
      attribution: { toolCallId: opts.toolCallId, change: change.change, reverted: change.reverted },
    };
    opts.log('runtime.attributed-write', { toolCallId: opts.toolCallId, effect: record.effect, reverted: change.reverted });
    await opts.evidence.decision(record);
  }
  return changes.filter((c) => !c.reverted).length;
}
