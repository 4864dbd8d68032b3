import { describe, expect, test } from 'vitest';
import { choosePrTitle } from '../../src/pr-summary.js';
import { checkPrBinding } from '../../src/pull-request/binding.js';
import { joinPrText, splitPrText } from '../../src/pull-request/pr-text.js';
import { PR_TEXT, makeApproval, makeAsk } from './fixtures.js';

const BASE = 'a'.repeat(40);
const origin = { root: '', bare: '', baseCommit: BASE, patch: 'diff --git a/x b/x\n' };
const approval = makeApproval(origin);
const action = { kind: 'pr.create' as const, repository: 'acme/calc', base: 'main', head: 'lumenflow/run-1', baseCommit: BASE };
const now = new Date('2026-11-23T11:00:00.000Z');

describe('checkPrBinding (pure)', () => {
  test('the approved action binds; the same action already used reports "used"; another use is refused', () => {
    const candidate = { action, diff: origin.patch, prText: PR_TEXT };
    const ok = checkPrBinding({ approval, candidate, now });
    expect(ok).toEqual({ ok: true, actionHash: approval.request?.actionHash });
    expect(checkPrBinding({ approval, candidate, now, use: { approvalId: 'apr-run-1', actionHash: approval.request?.actionHash ?? '' } }).ok).toBe('used');
    expect(checkPrBinding({ approval, candidate, now, use: { approvalId: 'apr-run-1', actionHash: 'sha256:other' } })).toMatchObject({ ok: false, code: 'PR_APPROVAL_USED' });
  });

  test('each difference has its own code', () => {
    const base = { action, diff: origin.patch, prText: PR_TEXT };
    expect(checkPrBinding({ approval, candidate: { ...base, diff: `${origin.patch} ` }, now })).toMatchObject({ code: 'PR_DIFF_CHANGED' });
    expect(checkPrBinding({ approval, candidate: { ...base, prText: `${PR_TEXT}.` }, now })).toMatchObject({ code: 'PR_TEXT_CHANGED' });
    expect(checkPrBinding({ approval, candidate: { ...base, action: { ...action, baseCommit: 'b'.repeat(40) } }, now })).toMatchObject({ code: 'PR_BASE_CHANGED' });
    expect(checkPrBinding({ approval, candidate: { ...base, action: { ...action, base: 'release' } }, now })).toMatchObject({ code: 'PR_ACTION_CHANGED' });
    expect(checkPrBinding({ approval: { ...approval, request: null, status: 'not_requested', resolution: null }, candidate: base, now })).toMatchObject({ code: 'PR_APPROVAL_MISSING' });
    expect(checkPrBinding({ approval, candidate: base, now: new Date('2026-11-30T00:00:00.000Z') })).toMatchObject({ code: 'PR_APPROVAL_EXPIRED' });
  });
});

describe('PR text', () => {
  test('title and body split from pr-summary.md and join back byte for byte', () => {
    const parts = splitPrText(PR_TEXT);
    expect(parts).toBeDefined();
    expect(joinPrText(parts ?? { title: '', body: '' })).toBe(PR_TEXT);
    expect(splitPrText('no title\n')).toBeUndefined();
  });

  test("the agent's title is one line: control and line-separator characters become spaces; empty falls back to the Ask's", () => {
    expect(choosePrTitle(makeAsk(), 'Fix\nadd\u2028now\u001b[31m')).toBe('Fix add now [31m');
    expect(choosePrTitle(makeAsk(), ' \n ')).toBe('Fix add');
  });
});
