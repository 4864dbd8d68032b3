import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { CloudError, createApprovalRequest, resolveApproval } from '@lumenflow/cloud';
import { computeActionHash } from '@lumenflow/replay';
import { computeApprovalActionHash } from '@lumenflow/protocol';

const action = { kind: 'pr.create' as const, repository: 'lumenflow-demo/calc', base: 'main', head: 'lumenflow/run-1' };
const requestedAt = new Date('2026-11-23T10:00:00.000Z');

function makeRequest(diff = 'diff', prText = 'pr text') {
  return createApprovalRequest({ approvalId: 'apr_0001', action, diff, prText, decisionId: 'cdec_0005', requestedBy: 'op.dana', requestedAt });
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    return error instanceof CloudError ? error.code : 'NOT_A_CLOUD_ERROR';
  }
}

describe('approval rules', () => {
  test('the requester cannot approve their own request, whatever the case or padding', () => {
    const request = makeRequest();
    for (const approver of ['op.dana', 'OP.DANA', '  op.dana ']) {
      expect(codeOf(() => resolveApproval(request, { approver, decision: 'approved', reason: 'lgtm' }, requestedAt))).toBe('APPROVAL_SELF_APPROVAL');
    }
  });

  test('a look-alike of the requester is refused: zero-width, fullwidth, Cyrillic, a different script entirely', () => {
    const request = makeRequest();
    // op.dana with U+200B inside, in fullwidth letters, with a Cyrillic а (U+0430).
    for (const approver of ['op.d\u200bana', '\uff4f\uff50.\uff44\uff41\uff4e\uff41', 'op.d\u0430na', 'op.dan\u0430', 'оп.дана']) {
      expect(codeOf(() => resolveApproval(request, { approver, decision: 'approved', reason: 'lgtm' }, requestedAt)), approver).toBe('APPROVAL_INVALID');
    }
    expect(resolveApproval(request, { approver: 'rev.kim@example.com', decision: 'approved', reason: 'lgtm' }, requestedAt).approver).toBe('rev.kim@example.com');
  });

  test('an expired request cannot be approved; one millisecond before expiry it can', () => {
    const request = makeRequest();
    const expiry = Date.parse(request.expiresAt);
    expect(expiry - requestedAt.getTime()).toBe(24 * 60 * 60 * 1000);
    const answer = { approver: 'rev.kim', decision: 'approved' as const, reason: 'lgtm' };
    expect(codeOf(() => resolveApproval(request, answer, new Date(expiry + 1)))).toBe('APPROVAL_EXPIRED');
    expect(resolveApproval(request, answer, new Date(expiry - 1))).toMatchObject({ approver: 'rev.kim', decision: 'approved' });
  });

  test('an answer without an approver or reason is refused', () => {
    const request = makeRequest();
    expect(codeOf(() => resolveApproval(request, { approver: ' ', decision: 'approved', reason: 'x' }, requestedAt))).toBe('APPROVAL_INVALID');
    expect(codeOf(() => resolveApproval(request, { approver: 'rev.kim', decision: 'rejected', reason: '' }, requestedAt))).toBe('APPROVAL_INVALID');
  });

  test('the action hash binds the exact diff and PR text bytes, and agrees with the Replay checker', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string({ minLength: 1 }), (diff, prText, extra) => {
        const request = makeRequest(diff, prText);
        expect(request.actionHash).toBe(computeActionHash({ action, diffSha256: request.diffSha256, prTextSha256: request.prTextSha256 }));
        expect(request.actionHash).toBe(computeApprovalActionHash(action, request.diffSha256, request.prTextSha256));
        expect(makeRequest(diff + extra, prText).actionHash).not.toBe(request.actionHash);
        expect(makeRequest(diff, prText + extra).actionHash).not.toBe(request.actionHash);
      }),
      { numRuns: 100 },
    );
  });

  test('a non-positive time to live is API misuse', () => {
    expect(() =>
      createApprovalRequest({ approvalId: 'apr_0001', action, diff: '', prText: '', decisionId: 'd', requestedBy: 'op', requestedAt, ttlMs: 0 }),
    ).toThrow(RangeError);
  });
});
