import { describe, expect, test } from 'vitest';
import { parseTapResults } from '@lumenflow/runtime';
import { TestResultsSchema } from '@lumenflow/protocol';

const NODE_TAP = `TAP version 13
# Subtest: add sums two numbers
not ok 1 - add sums two numbers
  ---
  duration_ms: 1.886321
  location: '/tmp/x/test/calc.test.js:5:1'
  ...
# Subtest: multiply multiplies two numbers
ok 2 - multiply multiplies two numbers
  ---
  duration_ms: 0.14789
  ...
# Subtest: later
ok 3 - later # SKIP not today
# Subtest: parent
    ok 1 - child
ok 4 - parent
1..4
# duration_ms 88.348194
`;

describe('parseTapResults', () => {
  test('reads top-level outcomes, skips and counts from node --test TAP', () => {
    expect(parseTapResults(NODE_TAP)).toEqual({
      counts: { total: 4, passed: 2, failed: 1, skipped: 1 },
      tests: [
        { name: 'add sums two numbers', status: 'failed' },
        { name: 'multiply multiplies two numbers', status: 'passed' },
        { name: 'later', status: 'skipped' },
        { name: 'parent', status: 'passed' },
      ],
    });
  });

  test('timings and paths do not change the result', () => {
    const other = NODE_TAP.replace(/duration_ms: [0-9.]+/g, 'duration_ms: 99').replace('/tmp/x', '/var/y');
    expect(parseTapResults(other)).toEqual(parseTapResults(NODE_TAP));
  });

  test('no TAP lines: no tests', () => {
    expect(parseTapResults('node: bad option\n').counts).toEqual({ total: 0, passed: 0, failed: 0, skipped: 0 });
  });
});

// Each case is a TAP stream a run could print, and what test-results.json must say of it.
const SHORTFALL_VECTORS: { comment: string; tap: string; counts: { total: number; passed: number; failed: number; skipped: number }; incomplete: unknown; names?: string[] }[] = [
  {
    comment: 'a bail-out after one pass is not 1 of 1 passed, even with a plan printed after it',
    tap: 'TAP version 14\nok 1 - first\nBail out! database gone\n1..3\n',
    counts: { total: 2, passed: 1, failed: 1, skipped: 0 },
    incomplete: { planned: null, reported: 1, bailOut: 'database gone' },
    names: ['first', '(Bail out! database gone)'],
  },
  {
    comment: 'a bail-out after the plan: every planned test that never reported is failed',
    tap: '1..3\nok 1 - first\nBail out!\n',
    counts: { total: 3, passed: 1, failed: 2, skipped: 0 },
    incomplete: { planned: 3, reported: 1, bailOut: '' },
    names: ['first', '(test 2 of 3 never reported)', '(test 3 of 3 never reported)'],
  },
  {
    comment: 'a plan of 4 with 3 results is incomplete, and the missing test is failed',
    tap: 'TAP version 13\nok 1 - a\nok 2 - b\nok 3 - c\n1..4\n',
    counts: { total: 4, passed: 3, failed: 1, skipped: 0 },
    incomplete: { planned: 4, reported: 3, bailOut: null },
    names: ['a', 'b', 'c', '(test 4 of 4 never reported)'],
  },
  {
    comment: 'more results than the plan is not a clean pass either',
    tap: 'ok 1 - a\nok 2 - b\n1..1\n',
    counts: { total: 3, passed: 2, failed: 1, skipped: 0 },
    incomplete: { planned: 1, reported: 2, bailOut: null },
  },
  {
    comment: 'results with no plan at all: the run ended early',
    tap: 'TAP version 13\nok 1 - a\n',
    counts: { total: 2, passed: 1, failed: 1, skipped: 0 },
    incomplete: { planned: null, reported: 1, bailOut: null },
  },
  {
    comment: 'no TAP at all: no tests, but never a complete run',
    tap: 'node: bad option\n',
    counts: { total: 0, passed: 0, failed: 0, skipped: 0 },
    incomplete: { planned: null, reported: 0, bailOut: null },
  },
  {
    comment: 'a skip-all plan is a complete run of no tests',
    tap: 'TAP version 13\n1..0 # SKIP no tests here\n',
    counts: { total: 0, passed: 0, failed: 0, skipped: 0 },
    incomplete: undefined,
  },
  {
    comment: 'a TODO is skipped, a failing subtest is its parent’s, and a complete plan adds nothing',
    tap: 'TAP version 14\n# Subtest: parent\n    not ok 1 - child\n    1..1\nnot ok 1 - parent\nnot ok 2 - later # TODO not yet\nok 3 - escaped \\# hash\n1..3\n',
    counts: { total: 3, passed: 1, failed: 1, skipped: 1 },
    incomplete: undefined,
    names: ['parent', 'later', 'escaped # hash'],
  },
];

describe('parseTapResults honours the plan and Bail out!', () => {
  for (const vector of SHORTFALL_VECTORS) {
    test(vector.comment, () => {
      const parsed = parseTapResults(vector.tap);
      expect(parsed.counts, vector.comment).toEqual(vector.counts);
      expect(parsed.incomplete, vector.comment).toEqual(vector.incomplete);
      expect('incomplete' in parsed, vector.comment).toBe(vector.incomplete !== undefined);
      if (vector.names) expect(parsed.tests.map((t) => t.name), vector.comment).toEqual(vector.names);
    });
  }

  test('every parse is a valid test-results.json record', () => {
    for (const vector of SHORTFALL_VECTORS) {
      const record = { schemaVersion: 1, runId: 'run_1', status: 'completed', command: ['node', '--test'], exitCode: 1, durationMs: 0, ...parseTapResults(vector.tap) };
      expect(TestResultsSchema.safeParse(record).success, vector.comment).toBe(true);
    }
  });
});
