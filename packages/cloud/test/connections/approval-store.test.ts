import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CloudError, completePendingApproval, createApprovalRequest, loadPendingApproval, loadPendingApprovals, openCloudStore, recordApprovalAnswer, savePendingApproval } from '@lumenflow/cloud';
import type { CloudStore } from '@lumenflow/cloud';
import { createKey, createTempDir } from './helpers.js';

const REQUESTED_AT = new Date('2026-11-23T10:00:00.000Z');

async function storeOne(store: CloudStore, dataDir: string): Promise<string> {
  const request = createApprovalRequest({
    approvalId: 'apr-0001',
    action: { kind: 'pr.create', repository: 'acme/calc', base: 'main', head: 'lumenflow/run-0001' },
    diff: 'diff',
    prText: 'pr',
    decisionId: 'dec-0001',
    requestedBy: 'op.dana',
    requestedAt: REQUESTED_AT,
    ttlMs: 60_000,
  });
  // Placeholder proof files: the store keeps and signs whatever the run handed it.
  const names = ['ask.json', 'node-session.json', 'policy-decisions.jsonl', 'tool-calls.jsonl', 'file-diff.patch', 'test-results.json', 'pr-summary.md', 'replay-link.txt'];
  const artifacts = Object.fromEntries(names.map((n) => [n, `${n}\n`]));
  await store.submitAsk('ask-0001', '{}', 0);
  await savePendingApproval(store, { runId: 'run-0001', askId: 'ask-0001', outDir: join(dataDir, 'bundles'), mode: 'happy', request, artifacts });
  return request.approvalId;
}

const codeOf = async (work: Promise<unknown>): Promise<string | undefined> => work.then(() => undefined, (e: unknown) => (e instanceof CloudError ? e.code : 'OTHER'));

async function withStore(fn: (store: CloudStore, dataDir: string) => Promise<void>): Promise<void> {
  const dataDir = await createTempDir('approvals');
  const store = await openCloudStore({ dataDir });
  try {
    await fn(store, dataDir);
  } finally {
    await store.close();
  }
}

describe('durable pending approvals', () => {
  it('refuses self-approval, settles once, and keeps the one bundle when settled again', () =>
    withStore(async (store, dataDir) => {
      const id = await storeOne(store, dataDir);
      const pending = await loadPendingApproval(store, id);
      expect(pending?.state).toBe('pending');
      if (pending === undefined) return;
      const at = REQUESTED_AT.getTime();
      expect(await codeOf(recordApprovalAnswer(store, pending, { approver: ' OP.DANA ', decision: 'approved', reason: 'mine' }, at))).toBe('APPROVAL_SELF_APPROVAL');
      expect(await recordApprovalAnswer(store, pending, { approver: 'reviewer:sam', decision: 'rejected', reason: 'no' }, at)).toBe(true);
      expect(await recordApprovalAnswer(store, pending, { approver: 'reviewer:kim', decision: 'approved', reason: 'yes' }, at)).toBe(false);
      const answer = { approver: 'reviewer:sam', decision: 'rejected' as const, reason: 'no' };
      const now = new Date(REQUESTED_AT.getTime() + 1000);
      const first = await completePendingApproval({ store, pending, answer, now, signingKey: createKey() });
      expect(first?.status).toBe('rejected');
      // Cloud stopped before it marked the approval: settling the same stored record again writes nothing new.
      const second = await completePendingApproval({ store, pending, answer, now, signingKey: createKey() });
      expect(second).toEqual(first);
      expect(await readdir(join(dataDir, 'bundles'))).toEqual(['run-0001']);
      expect(await loadPendingApprovals(store)).toEqual([]);
      expect(JSON.parse((await store.readAsk('ask-0001'))?.outcome ?? 'null')).toMatchObject({ ok: true, ending: 'rejected', approvalStatus: 'rejected' });
    }));

  it('stays pending with no answer before expiry, and settles as expired after it', () =>
    withStore(async (store, dataDir) => {
      const id = await storeOne(store, dataDir);
      const pending = await loadPendingApproval(store, id);
      if (pending === undefined) throw new Error('stored approval unreadable');
      const key = createKey();
      expect(await completePendingApproval({ store, pending, answer: undefined, now: new Date(REQUESTED_AT.getTime() + 59_000), signingKey: key })).toBeUndefined();
      const late = { approver: 'reviewer:sam', decision: 'approved' as const, reason: 'too late' };
      expect((await completePendingApproval({ store, pending, answer: late, now: new Date(REQUESTED_AT.getTime() + 61_000), signingKey: key }))?.status).toBe('expired');
    }));
});
