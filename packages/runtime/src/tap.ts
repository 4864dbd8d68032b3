import { Parser } from 'tap-parser';
import type { Result } from 'tap-parser';
import type { TestOutcome, TestRunIncomplete } from '@lumenflow/protocol';
import { omitUndefined } from '@lumenflow/protocol';

/**
 * What the runtime keeps of a TAP stream: the per-test outcomes, their counts
 * and, only when the stream did not end as its plan said, how it fell short.
 * Timings are dropped on purpose.
 */
export interface ParsedTestRun {
  counts: { total: number; passed: number; failed: number; skipped: number };
  tests: TestOutcome[];
  incomplete?: TestRunIncomplete;
}

/**
 * Parses TAP 13/14 output as `node --test --test-reporter=tap` writes it, with
 * tap-parser. Only top-level test points are tests of the run: subtests and
 * YAML diagnostics belong to their parent. Durations are dropped, so that the
 * same code gives the same record.
 *
 * The plan and `Bail out!` are honoured, because test-results.json is Proof
 * and must not read as a clean pass when the run stopped early: each planned
 * test that never reported is recorded as failed, and so is a bail-out or a
 * missing plan when no planned test stands for it (see docs/bundle-v1.md). A
 * stream with no TAP at all records no tests; `incomplete` and the exit code
 * say why.
 */
export function parseTapResults(text: string): ParsedTestRun {
  const reported: Result[] = [];
  let planned: number | null = null;
  let bailOut: string | null = null;
  const parser = new Parser();
  parser.on('assert', (result: Result) => void reported.push(result));
  // tap-parser makes up a `1..0` plan for an empty stream; only a printed plan counts.
  parser.on('plan', (plan: { start: number; end: number }) => {
    if (!parser.syntheticPlan) planned = Math.max(0, plan.end - plan.start + 1);
  });
  parser.on('bailout', (reason: string) => {
    bailOut = reason;
  });
  // The parser works synchronously: every event has fired when end() returns.
  parser.end(text);

  const tests: TestOutcome[] = reported.map(toOutcome);
  const incomplete = describeShortfall(planned, reported, bailOut);
  if (incomplete !== undefined) tests.push(...missingOutcomes(incomplete, reported));
  const count = (status: TestOutcome['status']): number => tests.filter((t) => t.status === status).length;
  return {
    counts: { total: tests.length, passed: count('passed'), failed: count('failed'), skipped: count('skipped') },
    tests,
    ...omitUndefined({ incomplete }),
  };
}

function toOutcome(result: Result): TestOutcome {
  const name = result.name.trim() || '(unnamed test)';
  const status = result.skip !== false || result.todo !== false ? 'skipped' : result.ok ? 'passed' : 'failed';
  return { name, status };
}

function describeShortfall(planned: number | null, reported: readonly Result[], bailOut: string | null): TestRunIncomplete | undefined {
  if (bailOut === null && planned !== null && planned === reported.length) return undefined;
  return { planned, reported: reported.length, bailOut };
}

// Failed stand-ins, so that counts alone never read as a pass of a run that stopped
// early: one per planned test that never reported, else one for the bail-out, the
// overrun or the missing plan. Their names are in parentheses, as no test can be.
function missingOutcomes(incomplete: TestRunIncomplete, reported: readonly Result[]): TestOutcome[] {
  const { planned, bailOut } = incomplete;
  if (planned !== null && planned > reported.length) {
    const seen = new Set(reported.map((r) => r.id));
    const out: TestOutcome[] = [];
    for (let id = 1; out.length < planned - reported.length && id <= planned; id++) {
      if (!seen.has(id)) out.push({ name: `(test ${id} of ${planned} never reported)`, status: 'failed' });
    }
    return out;
  }
  if (bailOut !== null) return [{ name: bailOut.trim() === '' ? '(Bail out!)' : `(Bail out! ${bailOut.trim()})`, status: 'failed' }];
  if (planned !== null) return [{ name: `(${reported.length} results against a plan of ${planned})`, status: 'failed' }];
  if (reported.length > 0) return [{ name: '(the run ended without a plan)', status: 'failed' }];
  return [];
}
