import { MAX_EGRESS_DESTINATIONS, omitUndefined } from '@lumenflow/protocol';
import type { EgressReason, EgressRecord } from '@lumenflow/protocol';

type Outcome = 'allowed' | 'denied' | 'failed';
type Destination = EgressRecord['destinations'][number];

/** One request the proxy decided on; `host` and `port` are absent when the request named none it could read. */
export interface EgressDecision {
  readonly outcome: Outcome;
  readonly reason?: EgressReason;
  readonly host?: string;
  readonly port?: number;
}

/**
 * Counts every decision of one session's egress proxy and itemises them per
 * destination, outcome and reason, up to {@link MAX_EGRESS_DESTINATIONS}
 * destinations: a hostile agent that tries a million names fills the table
 * once, and the rest are counted in `omitted`. Pure.
 */
export function createEgressLedger(): {
  /** Records a decision; returns a function that adds a tunnel's bytes to it when it closes. */
  decide(decision: EgressDecision): (bytesOut: number, bytesIn: number) => void;
  toRecord(): EgressRecord;
} {
  const counts = { allowed: 0, denied: 0, failed: 0, bytesOut: 0, bytesIn: 0, omitted: 0 };
  const table = new Map<string, Destination>();
  return {
    decide(decision) {
      counts[decision.outcome]++;
      let row: Destination | undefined;
      if (decision.host !== undefined && decision.port !== undefined) {
        const key = JSON.stringify([decision.host, decision.port, decision.outcome, decision.reason ?? '']);
        row = table.get(key);
        if (row === undefined && table.size < MAX_EGRESS_DESTINATIONS) {
          row = { host: decision.host, port: decision.port, outcome: decision.outcome, ...omitUndefined({ reason: decision.reason }), requests: 0, bytesOut: 0, bytesIn: 0 };
          table.set(key, row);
        }
      }
      if (row === undefined) counts.omitted++;
      else row.requests++;
      const target = row;
      return (bytesOut, bytesIn) => {
        counts.bytesOut += bytesOut;
        counts.bytesIn += bytesIn;
        if (target !== undefined) {
          target.bytesOut += bytesOut;
          target.bytesIn += bytesIn;
        }
      };
    },
    toRecord() {
      const destinations = [...table.values()]
        .map((row) => ({ ...row }))
        .sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : a.port - b.port || (a.outcome < b.outcome ? -1 : a.outcome > b.outcome ? 1 : (a.reason ?? '') < (b.reason ?? '') ? -1 : 1)));
      return { ...counts, destinations };
    },
  };
}
