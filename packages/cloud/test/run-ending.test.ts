import { describe, expect, test } from 'vitest';
import type { PolicyDecisionRecord, TestResults } from '@lumenflow/protocol';
import { decideApprovalGate, decideBundleMode, decideRunEnding } from '../src/run-ending.js';
import type { ApprovalAnswerStatus, ApprovalGate, SessionFacts } from '../src/run-ending.js';

// The ending is decided from data alone, so every branch is checked here without a runtime.

const TARGET = 'acme/calc@main';

function decision(overrides: Partial<PolicyDecisionRecord> = {}): PolicyDecisionRecord {
  return {
    schemaVersion: 1,
    decisionId: 'cdec_0001',
    timestamp: '2026-11-23T10:00:00.000Z',
    runId: 'run-1',
    askId: 'ask-1',
    evaluatedAt: 'cloud',
    scope: { kind: 'pr.create', target: TARGET },
    effect: 'approval_required',
    matchedRuleIds: ['pr-needs-approval'],
    decidingRuleId: 'pr-needs-approval',
    reason: 'a person approves every PR',
    policyDigest: `sha256:${'a'.repeat(64)}`,
    warnings: [],
    ...overrides,
  };
}

function passing(overrides: Partial<Extract<TestResults, { status: 'completed' }>> = {}): TestResults {
  return {
    schemaVersion: 1,
    runId: 'run-1',
    status: 'completed',
    command: ['node', '--test'],
    exitCode: 0,
    durationMs: 12,
    counts: { total: 3, passed: 3, failed: 0, skipped: 0 },
    tests: [],
    ...overrides,
  };
}

/** A run that did everything right and asks for an approval; each case changes one fact. */
function facts(overrides: Partial<SessionFacts> = {}): SessionFacts {
  return {
    cloudDeny: undefined,
    prDecision: decision(),
    prTarget: TARGET,
    ended: { outcome: 'completed', reason: 'done', workspaceUnchanged: false },
    runtimeDecisions: [],
    testResults: passing(),
    patch: 'diff --git a/x b/x\n',
    ...overrides,
  };
}

describe('decideApprovalGate: which runs ask a person', () => {
  const stops: { name: string; facts: SessionFacts; ending: string; why: RegExp }[] = [
    {
      name: 'a Cloud deny blocks the run, whatever else happened',
      facts: facts({ cloudDeny: decision({ scope: { kind: 'net.connect', target: 'evil.test' }, effect: 'deny', decidingRuleId: 'no-egress', reason: 'no network' }), ended: { outcome: 'halted', reason: 'halted', workspaceUnchanged: true } }),
      ending: 'blocked',
      why: /^Rules denied net\.connect evil\.test \(rule no-egress: no network\), so the run halted before any tool call and the workspace was left unchanged\.$/,
    },
    {
      name: "the runtime's Rules halting the run name the runtime's deny, not an attributed one",
      facts: facts({
        ended: { outcome: 'halted', reason: 'a write was denied', workspaceUnchanged: false },
        runtimeDecisions: [
          decision({ evaluatedAt: 'runtime', effect: 'deny', reason: 'reverted change', attribution: { toolCallId: 'tc_1', change: 'added', reverted: true } }),
          decision({ evaluatedAt: 'runtime', effect: 'deny', reason: 'outside the workspace' }),
        ],
      }),
      ending: 'runtime-halted',
      why: /^the runtime's Rules stopped the run: a write was denied \(outside the workspace\)\.$/,
    },
    {
      name: 'a failed session names its code',
      facts: facts({ ended: { outcome: 'failed', reason: 'no answer', code: 'SESSION_TIMEOUT', workspaceUnchanged: false } }),
      ending: 'runtime-failed',
      why: /^the runtime failed: SESSION_TIMEOUT: no answer\.$/,
    },
    { name: 'no test results', facts: facts({ testResults: undefined }), ending: 'tests-failed', why: /^the tests did not run\.$/ },
    {
      name: 'a test run that bailed out',
      facts: facts({ testResults: passing({ incomplete: { planned: 3, reported: 1, bailOut: 'db down' } }) }),
      ending: 'tests-failed',
      why: /did not complete \(bailed out: db down; 1 of 3 planned results\)/,
    },
    { name: 'a failing test', facts: facts({ testResults: passing({ counts: { total: 3, passed: 2, failed: 1, skipped: 0 } }) }), ending: 'tests-failed', why: /1 of 3 failed, exit code 0/ },
    { name: 'a non-zero exit with every test passing', facts: facts({ testResults: passing({ exitCode: 1 }) }), ending: 'tests-failed', why: /0 of 3 failed, exit code 1/ },
    { name: 'no change', facts: facts({ patch: '' }), ending: 'not-requested', why: /^the run changed no file/ },
    { name: 'no pr.create requested', facts: facts({ prDecision: undefined }), ending: 'not-requested', why: /^the Ask did not request pr\.create for acme\/calc@main\.$/ },
  ];
  for (const c of stops) {
    test(`${c.name}: ${c.ending}, no approval`, () => {
      const gate = decideApprovalGate(c.facts);
      expect(gate.kind, c.name).toBe('not-requested');
      if (gate.kind !== 'not-requested') return;
      expect(gate.ending, c.name).toBe(c.ending);
      expect(gate.why, c.name).toMatch(c.why);
    });
  }

  test('Rules that allow pr.create outright need no person', () => {
    const gate = decideApprovalGate(facts({ prDecision: decision({ effect: 'allow', decidingRuleId: 'pr-free' }) }));
    expect(gate).toMatchObject({ kind: 'allowed', why: 'Rules allow pr.create without approval (rule pr-free).' });
  });

  test('a completed, passing run with a change and an approval_required pr.create asks a person, with its tests', () => {
    const gate = decideApprovalGate(facts());
    expect(gate.kind).toBe('ask');
    if (gate.kind !== 'ask') return;
    expect(gate.decision.decidingRuleId).toBe('pr-needs-approval');
    expect(gate.tests.counts.passed).toBe(3);
  });
});

describe('decideRunEnding: the ending and its one sentence', () => {
  const asked = decideApprovalGate(facts());
  const answers: [ApprovalAnswerStatus, RegExp][] = [
    ['approved', /pull request was approved/],
    ['rejected', /approver rejected the pull request/],
    ['expired', /expired before it was answered/],
  ];
  for (const [answer, summary] of answers) {
    test(`an ${answer} answer ends the run ${answer}`, () => {
      const end = decideRunEnding(asked, answer);
      expect(end.ending).toBe(answer);
      expect(end.summary).toMatch(summary);
    });
  }

  test('a run that asked nobody ends as its gate said, with the reason capitalised', () => {
    expect(decideRunEnding(decideApprovalGate(facts({ patch: '' })), undefined)).toEqual({
      ending: 'not-requested',
      summary: 'The run changed no file, so there is nothing to propose.',
    });
    expect(decideRunEnding(decideApprovalGate(facts({ prDecision: decision({ effect: 'allow', decidingRuleId: 'pr-free' }) })), undefined)).toEqual({
      ending: 'no-approval-needed',
      summary: 'Rules allow pr.create without approval (rule pr-free).',
    });
  });

  test('an answer without a question, or a question without an answer, is a misuse', () => {
    const closed: ApprovalGate = { kind: 'not-requested', ending: 'blocked', why: 'x' };
    expect(() => decideRunEnding(closed, 'approved')).toThrow(TypeError);
    expect(() => decideRunEnding(asked, undefined)).toThrow(TypeError);
  });
});

describe('decideBundleMode', () => {
  test('a Cloud deny, or runtime denies with no tool call, make a policy-blocked bundle; anything else is happy', () => {
    const deny = decision({ effect: 'deny' });
    expect(decideBundleMode(true, 3, [])).toBe('policy-blocked');
    expect(decideBundleMode(false, 0, [deny])).toBe('policy-blocked');
    expect(decideBundleMode(false, 1, [deny])).toBe('happy');
    expect(decideBundleMode(false, 0, [decision()])).toBe('happy');
  });
});
