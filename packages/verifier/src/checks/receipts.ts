// Family: runtime receipts. Every runtime record, the diff and the test results
// carry a receipt signed by the runtime key that node-session.json names.
import { TestResultsSchema } from '@lumenflow/protocol';
import { DIFF_FILE, MAX_DIFF_BYTES, TEST_RESULTS_FILE, artifactPass, parseHeldJson } from './artifact-pass.js';
import { NEEDS_MANIFEST } from './artifacts.js';
import { listNames } from './shared.js';
import { failed, notRun, passed } from './types.js';
import type { BundleContext, Outcome } from './types.js';

export async function checkRuntimeReceipts(ctx: BundleContext): Promise<Outcome> {
  const { manifest } = ctx;
  if (!manifest) return notRun(NEEDS_MANIFEST);
  const { decisions, toolCalls, runtime, held } = await artifactPass(ctx, manifest);
  for (const reader of [decisions, toolCalls]) {
    // Records past a bad line were never fed to the checker; judging the rest would blame the wrong thing.
    if (!reader.done || reader.error) return notRun(`${reader.fileName} could not be read in full`);
  }
  if (runtime.checker === undefined) return failed(runtime.problem.code, runtime.problem.detail);
  const tests = parseHeldJson(held.get(TEST_RESULTS_FILE)?.bytes(), TEST_RESULTS_FILE);
  const testResults = tests.ok ? TestResultsSchema.safeParse(tests.value) : undefined;
  if (!tests.ok || !testResults?.success) {
    return failed('RUNTIME_EVIDENCE_INVALID', tests.ok ? `${TEST_RESULTS_FILE} does not match its schema` : tests.detail);
  }
  const diffBytes = held.get(DIFF_FILE)?.bytes();
  let patch: string;
  try {
    if (diffBytes === undefined) throw new RangeError('too large');
    patch = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(diffBytes);
  } catch {
    return failed('RUNTIME_EVIDENCE_INVALID', `${DIFF_FILE} is not UTF-8 text of at most ${MAX_DIFF_BYTES} bytes`);
  }
  const report = runtime.checker.finish({ testResults: testResults.data, patch });
  const first = report.problems[0];
  if (report.ok || first === undefined) return passed(`${report.verified} records signed by runtime key ${report.runtimeKeyId ?? '?'}`);
  const listed = report.problems.map((p) => (p.subject === undefined ? p.code : `${p.code} ${p.subject}`));
  const more = report.problemCount > listed.length ? ` and ${report.problemCount - listed.length} more` : '';
  return failed(first.code, `runtime evidence does not hold: ${listNames(listed)}${more}`);
}
