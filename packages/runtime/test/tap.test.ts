import { describe, expect, test } from 'vitest';
import { parseTapResults } from '@lumenflow/runtime';

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
