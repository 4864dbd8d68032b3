import { RESERVED_RULE_IDS, toDecisionRecord } from '@lumenflow/policy';
import type { Clock, IdSource } from '@lumenflow/protocol';
import { attributeChanges } from '../sandbox/attribute.js';
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
}): Promise<number> {
  const judge = (path: string) => opts.judge.decide({ kind: 'fs.write', path });
  const { changes } = await attributeChanges({
    snapshotter: opts.snapshotter,
    before: opts.before,
    judge,
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
