import type { TestRunIncomplete } from './schemas.js';

/**
 * Says in words how a test run fell short of its plan, from test-results.json's
 * `incomplete`: the one wording that Cloud's summary and Replay both use.
 */
export function describeTestShortfall(incomplete: TestRunIncomplete): string {
  const { planned, reported, bailOut } = incomplete;
  const parts: string[] = [];
  if (bailOut !== null) parts.push(bailOut.trim() === '' ? 'bailed out' : `bailed out: ${bailOut.trim()}`);
  parts.push(planned === null ? `${reported} ${reported === 1 ? 'result' : 'results'} and no plan` : `${reported} of ${planned} planned results`);
  return parts.join('; ');
}
