import type { TestOutcome } from '@lumenflow/protocol';

/** What the runtime keeps of a TAP stream: the per-test outcomes and their counts. Timings are dropped on purpose. */
export interface ParsedTestRun {
  counts: { total: number; passed: number; failed: number; skipped: number };
  tests: TestOutcome[];
}

const RESULT_LINE = /^(not ok|ok)\s+\d+(?:\s+-)?\s*(.*?)(?:\s+#\s*(SKIP|TODO)\b.*)?$/i;

/**
 * Parses the top-level results of TAP 13/14 output as `node --test
 * --test-reporter=tap` writes it. Indented lines belong to subtests and YAML
 * diagnostics; they are not separate tests of the run. Durations are dropped,
 * so that the same code gives the same record.
 */
export function parseTapResults(text: string): ParsedTestRun {
  const tests: TestOutcome[] = [];
  for (const line of text.split(/\r?\n/)) {
    const match = RESULT_LINE.exec(line);
    if (!match) continue;
    const ok = match[1]?.toLowerCase() === 'ok';
    const directive = match[3]?.toUpperCase();
    const name = (match[2] ?? '').replace(/\\#/g, '#').trim() || '(unnamed test)';
    const status = directive === 'SKIP' || directive === 'TODO' ? 'skipped' : ok ? 'passed' : 'failed';
    tests.push({ name, status });
  }
  const count = (status: TestOutcome['status']): number => tests.filter((t) => t.status === status).length;
  return { counts: { total: tests.length, passed: count('passed'), failed: count('failed'), skipped: count('skipped') }, tests };
}
