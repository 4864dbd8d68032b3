import type { PolicyDecisionRecord, TestResults, ToolCallRecord } from '@lumenflow/protocol';

/** Where a tool host sends its evidence: each becomes one signed runtime message to Cloud, in this order. */
export interface EvidenceSink {
  decision(record: PolicyDecisionRecord): Promise<void>;
  toolCall(record: ToolCallRecord): Promise<void>;
  testResults(record: TestResults): Promise<void>;
  diff(baselineCommit: string, patch: string): Promise<void>;
}

/** How the agent's work ended; the runtime turns it into session.ended. */
export interface WorkEnd {
  outcome: 'completed' | 'halted' | 'failed';
  reason: string;
  code?: string;
  /** The pull request text the agent proposed with `finish`. */
  proposal?: { title: string; body: string };
}
