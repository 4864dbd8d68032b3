import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CHAIN_CHECK_CODES, assembleChain, checkChain } from '@lumenflow/replay';
import type { ChainCheckCode } from '@lumenflow/replay';
import { at, makeHappyRun, makePolicyBlockedRun, sealApproval, toChain, toFiles } from './helpers/records.js';
import type { RunRecords } from './helpers/records.js';

const failed = (run: RunRecords): ChainCheckCode[] => checkChain(toChain(run)).filter((c) => !c.ok).map((c) => c.code);

describe('checkChain on consistent runs', () => {
  it('passes every check of a happy run, one result per code, in order', () => {
    const checks = checkChain(toChain(makeHappyRun()));
    expect(checks.map((c) => c.code)).toEqual(CHAIN_CHECK_CODES);
    expect(checks.filter((c) => !c.ok)).toEqual([]);
  });

  it('passes every check of a policy-blocked run', () => {
    expect(failed(makePolicyBlockedRun())).toEqual([]);
  });

  it('passes a rejected approval whose PR text explains that no PR was opened', () => {
    const run = makeHappyRun();
    run.approval.status = 'rejected';
    run.approval.resolution = { approver: 'reviewer:bob', decision: 'rejected', reason: 'Not this week.', decidedAt: at(30) };
    run.prSummary = 'No PR was opened: the approval was rejected.\n';
    expect(failed(run)).toEqual([]);
  });
});

// Each case tampers with one link of an otherwise valid happy run; the comment
// goes into every assertion so a failure names its case.
const TAMPERS: Array<{ comment: string; expected: ChainCheckCode; tamper: (run: RunRecords) => void; reseal?: boolean }> = [
  { comment: 'tool call names a decision that does not exist', expected: 'TOOL_CALL_WITHOUT_ALLOW', tamper: (r) => void (r.toolCalls[1]!.decisionId = 'dec_9999') },
  { comment: 'tool call allowed by a deny', expected: 'TOOL_CALL_WITHOUT_ALLOW', tamper: (r) => void (r.decisions[4]!.effect = 'deny') },
  { comment: 'tool call allowed by a Cloud decision, not the runtime', expected: 'TOOL_CALL_WITHOUT_ALLOW', tamper: (r) => void (r.toolCalls[0]!.decisionId = 'dec_0001') },
  { comment: 'decision gates another tool call', expected: 'TOOL_CALL_WITHOUT_ALLOW', tamper: (r) => void (r.decisions[3]!.toolCallId = 'tc_0002') },
  { comment: 'decision recorded after the call started', expected: 'TOOL_CALL_WITHOUT_ALLOW', tamper: (r) => void (r.decisions[5]!.timestamp = at(10.5)) },
  { comment: 'decision for a different scope', expected: 'TOOL_CALL_WITHOUT_ALLOW', tamper: (r) => void (r.decisions[4]!.scope = { kind: 'fs.write', target: 'src/other.js' }) },
  {
    comment: 'a second decision denied the call, yet it ran',
    expected: 'TOOL_CALL_WITHOUT_ALLOW',
    tamper: (r) => void r.decisions.splice(6, 0, { ...r.decisions[5]!, decisionId: 'dec_0100', effect: 'deny', timestamp: at(10) }),
  },
  {
    comment: 'tool call after a runtime deny',
    expected: 'TOOL_CALL_AFTER_HALT',
    tamper: (r) => void r.decisions.splice(4, 0, { ...r.decisions[3]!, decisionId: 'dec_0100', toolCallId: 'tc_0100', effect: 'deny', timestamp: at(7) }),
  },
  {
    comment: 'tool call although Cloud denied a scope of the Ask',
    expected: 'TOOL_CALL_AFTER_HALT',
    tamper: (r) => void (r.decisions[0]!.effect = 'deny'),
  },
  { comment: 'diff edited after approval', expected: 'APPROVAL_HASH_MISMATCH', tamper: (r) => void (r.diff = r.diff.replace('a + b', 'a + b + 1')) },
  { comment: 'PR text edited after approval', expected: 'APPROVAL_HASH_MISMATCH', tamper: (r) => void (r.prSummary += '\nAlso deploys to production.\n') },
  { comment: 'action retargeted without rehashing', expected: 'APPROVAL_HASH_MISMATCH', tamper: (r) => void (r.approval.request!.action.base = 'release') },
  { comment: 'resolved before it was requested', expected: 'APPROVAL_ORDER', tamper: (r) => void (r.approval.resolution!.decidedAt = at(20.5)) },
  { comment: 'requested before its approval_required decision', expected: 'APPROVAL_ORDER', tamper: (r) => void (r.decisions[6]!.timestamp = at(21.5)) },
  {
    comment: 'a pr.create tool call before the approval',
    expected: 'APPROVAL_ORDER',
    tamper: (r) => {
      r.decisions.push({ ...r.decisions[5]!, decisionId: 'dec_0008', toolCallId: 'tc_0004', scope: { kind: 'pr.create', target: 'acme/calc:main' }, timestamp: at(25) });
      r.toolCalls.push({ ...r.toolCalls[2]!, toolCallId: 'tc_0004', decisionId: 'dec_0008', tool: 'pr.create', scope: { kind: 'pr.create', target: 'acme/calc:main' }, startedAt: at(25), endedAt: at(26) });
    },
  },
  { comment: 'approved after expiry', expected: 'APPROVAL_EXPIRED', tamper: (r) => void (r.approval.resolution!.decidedAt = at(21 + 3601)) },
  { comment: 'expiry not after the request', expected: 'APPROVAL_EXPIRED', tamper: (r) => void (r.approval.request!.expiresAt = at(21)) },
  { comment: 'approver is the requester', expected: 'SELF_APPROVAL', tamper: (r) => void (r.approval.resolution!.approver = 'runtime:rt_0001') },
  { comment: 'approver is the requester, spelled differently', expected: 'SELF_APPROVAL', tamper: (r) => void (r.approval.resolution!.approver = ' Runtime:RT_0001 ') },
  { comment: 'status approved with a rejection', expected: 'APPROVAL_STATUS_INCONSISTENT', tamper: (r) => void (r.approval.resolution!.decision = 'rejected') },
  { comment: 'request names a decision that is not approval_required', expected: 'APPROVAL_STATUS_INCONSISTENT', tamper: (r) => void (r.approval.request!.decisionId = 'dec_0003') },
  {
    comment: 'approval requested although tests failed',
    expected: 'APPROVAL_STATUS_INCONSISTENT',
    tamper: (r) => {
      r.testResults = { ...r.testResults, exitCode: 1, counts: { total: 2, passed: 1, failed: 1, skipped: 0 }, tests: [{ name: 'add adds', status: 'passed' }, { name: 'add is commutative', status: 'failed' }] } as RunRecords['testResults'];
    },
  },
  {
    comment: 'approval requested although the test run did not complete (no plan, exit 0)',
    expected: 'APPROVAL_STATUS_INCONSISTENT',
    tamper: (r) => void ((r.testResults as { incomplete?: unknown }).incomplete = { planned: null, reported: 2, bailOut: null }),
  },
  {
    comment: 'a plan short of results whose missing tests are not failed',
    expected: 'TEST_COUNTS_MISMATCH',
    tamper: (r) => void ((r.testResults as { incomplete?: unknown }).incomplete = { planned: 3, reported: 2, bailOut: null }),
  },
  { comment: 'not_requested with a request', expected: 'APPROVAL_STATUS_INCONSISTENT', tamper: (r) => void (r.approval.status = 'not_requested') },
  { comment: 'session of another run', expected: 'ID_MISMATCH', tamper: (r) => void (r.session.runId = 'run_0002') },
  { comment: 'tool call of another session', expected: 'ID_MISMATCH', tamper: (r) => void (r.toolCalls[0]!.sessionId = 'sess_0002') },
  { comment: 'decision of another Ask', expected: 'ID_MISMATCH', tamper: (r) => void (r.decisions[2]!.askId = 'ask_0002') },
  { comment: 'approval of another run', expected: 'ID_MISMATCH', tamper: (r) => void (r.approval.runId = 'run_0002') },
  { comment: 'replay link to another run', expected: 'ID_MISMATCH', tamper: (r) => void (r.replayLink = 'http://127.0.0.1:4173/runs/run_0002\n') },
  { comment: 'tests of another run', expected: 'ID_MISMATCH', tamper: (r) => void (r.testResults.runId = 'run_0002') },
  { comment: 'two decisions share an id', expected: 'ID_DUPLICATE', tamper: (r) => void (r.decisions[2]!.decisionId = 'dec_0001') },
  { comment: 'two tool calls share an id', expected: 'ID_DUPLICATE', tamper: (r) => void r.toolCalls.push({ ...r.toolCalls[2]! }) },
  { comment: 'session ends before it starts', expected: 'TIMESTAMPS_UNORDERED', tamper: (r) => void (r.session.endedAt = at(4)) },
  { comment: 'tool call ends before it starts', expected: 'TIMESTAMPS_UNORDERED', tamper: (r) => void (r.toolCalls[0]!.endedAt = at(5.5)) },
  { comment: 'tool calls out of order', expected: 'TIMESTAMPS_UNORDERED', tamper: (r) => void r.toolCalls.reverse() },
  { comment: 'decision before the Ask', expected: 'TIMESTAMPS_UNORDERED', tamper: (r) => void (r.decisions[0]!.timestamp = at(-1)) },
  { comment: 'manifest created before the approval', expected: 'TIMESTAMPS_UNORDERED', tamper: (r) => void (r.createdAt = at(25)) },
  { comment: 'approval requested before the last edit ended', expected: 'TIMESTAMPS_UNORDERED', tamper: (r) => void (r.approval.request!.requestedAt = at(11)) },
  { comment: 'total does not count the list', expected: 'TEST_COUNTS_MISMATCH', tamper: (r) => void (r.testResults as { counts: { total: number } }).counts.total++ },
  {
    comment: 'passed count disagrees with the list',
    expected: 'TEST_COUNTS_MISMATCH',
    tamper: (r) => void ((r.testResults as { tests: Array<{ status: string }> }).tests[1]!.status = 'skipped'),
  },
];

describe('checkChain on tampered runs', () => {
  for (const { comment, expected, tamper } of TAMPERS) {
    it(`${expected}: ${comment}`, () => {
      const run = makeHappyRun();
      tamper(run);
      const checks = checkChain(toChain(run));
      const check = checks.find((c) => c.code === expected);
      expect(check?.ok, comment).toBe(false);
      expect(check?.findings.length, comment).toBeGreaterThan(0);
      expect(check?.detail, comment).toBeTypeOf('string');
    });
  }

  it('APPROVAL_HASH_MISMATCH stays clear when the diff is edited and the approval re-sealed to match', () => {
    const run = makeHappyRun();
    run.diff = run.diff.replace('a + b', 'b + a');
    sealApproval(run);
    expect(failed(run)).toEqual([]);
  });

  it('RECORD_INVALID carries each read problem', () => {
    const files = toFiles(makeHappyRun());
    files.problems.push({ file: 'tool-calls.jsonl', code: 'SCHEMA_INVALID', line: 2, message: 'bad line' });
    const check = checkChain(assembleChain(files)).find((c) => c.code === 'RECORD_INVALID');
    expect(check?.ok).toBe(false);
    expect(check?.findings[0]?.where).toBe('tool-calls.jsonl:2');
  });

  it('RECORD_INVALID when the bytes replay read are not the ones the manifest lists', () => {
    const files = toFiles(makeHappyRun());
    files.digests = { 'ask.json': 'a'.repeat(64), 'tool-calls.jsonl': 'b'.repeat(64) };
    files.manifest = { ...files.manifest, artifactDigests: { 'ask.json': 'c'.repeat(64) } };
    const check = checkChain(assembleChain(files)).find((c) => c.code === 'RECORD_INVALID');
    expect(check?.findings.map((f) => f.where)).toEqual(['ask.json', 'tool-calls.jsonl']);
  });

  it('fails closed when the diff the approval binds is missing', () => {
    const files = toFiles(makeHappyRun());
    files.diff = null;
    expect(checkChain(assembleChain(files)).find((c) => c.code === 'APPROVAL_HASH_MISMATCH')?.ok).toBe(false);
  });
});

describe('checkChain properties', () => {
  it('any change to the approved diff breaks the approval binding', () => {
    fc.assert(
      fc.property(fc.nat(), fc.string({ minLength: 1, maxLength: 8 }), (position, insert) => {
        const run = makeHappyRun();
        const i = position % (run.diff.length + 1);
        run.diff = run.diff.slice(0, i) + insert + run.diff.slice(i);
        expect(failed(run)).toContain('APPROVAL_HASH_MISMATCH');
      }),
      { numRuns: 60 },
    );
  });

  it('a tool call whose decision is anything but a runtime allow never passes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 }),
        fc.constantFrom('deny' as const, 'approval_required' as const),
        (index, effect) => {
          const run = makeHappyRun();
          const id = run.toolCalls[index]!.decisionId;
          run.decisions.find((d) => d.decisionId === id)!.effect = effect;
          expect(failed(run)).toContain('TOOL_CALL_WITHOUT_ALLOW');
        },
      ),
      { numRuns: 20 },
    );
  });

  it('changing the run id of any one record is an ID_MISMATCH', () => {
    const run0 = makeHappyRun();
    const slots = run0.decisions.length + run0.toolCalls.length + 3;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: slots - 1 }), (slot) => {
        const run = makeHappyRun();
        const records: Array<{ runId: string }> = [...run.decisions, ...run.toolCalls, run.session, run.testResults, run.approval];
        records[slot]!.runId = 'run_other';
        expect(failed(run)).toContain('ID_MISMATCH');
      }),
      { numRuns: 30 },
    );
  });
});

type Egress = NonNullable<NonNullable<RunRecords['session']['agent']>['egress']>;

describe('EGRESS_INCONSISTENT: the agent egress tally against its allow-list and itself', () => {
  const withEgress = (edit?: (egress: Egress) => void, network: unknown = { allow: ['api.example.com:443', '*.models.example:443'] }): RunRecords => {
    const run = makeHappyRun();
    const egress = {
      allowed: 2,
      denied: 2,
      failed: 0,
      bytesOut: 300,
      bytesIn: 900,
      destinations: [
        { host: 'api.example.com', port: 443, outcome: 'allowed' as const, requests: 1, bytesOut: 100, bytesIn: 400 },
        { host: 'eu.models.example', port: 443, outcome: 'allowed' as const, requests: 1, bytesOut: 200, bytesIn: 500 },
        { host: 'evil.example', port: 443, outcome: 'denied' as const, reason: 'not-listed' as const, requests: 1, bytesOut: 0, bytesIn: 0 },
      ],
      omitted: 1,
    };
    edit?.(egress);
    run.session = { ...run.session, agent: { name: 'claude-code', network: network as { allow: string[] }, egress } };
    return run;
  };

  it('passes a tally that agrees', () => {
    expect(failed(withEgress())).toEqual([]);
  });

  it.each([
    ['a tunnel to a host the list does not name', (e: Egress) => void (e.destinations[0]!.host = 'api.evil.example')],
    ['a tunnel under the wildcard base itself', (e: Egress) => void (e.destinations[1]!.host = 'models.example')],
    ['a denial that carried bytes', (e: Egress) => void (e.destinations[2]!.bytesOut = 5)],
    ['counts that do not add up', (e: Egress) => void (e.omitted = 0)],
    ['a failure with a denial reason', (e: Egress) => void Object.assign(e.destinations[2]!, { outcome: 'failed' })],
  ])('%s', (_what, edit) => {
    expect(failed(withEgress(edit))).toEqual(['EGRESS_INCONSISTENT']);
  });

  it('a tally without an allow-list', () => {
    expect(failed(withEgress(undefined, 'host'))).toEqual(['EGRESS_INCONSISTENT']);
  });
});
