import { describe, expect, it } from 'vitest';
import { createRedactor } from '@lumenflow/protocol';
import type { UnsignedRuntimeMessage } from '@lumenflow/protocol';
import { RuntimeError } from '../src/errors.js';
import { redactMessage } from '../src/redact-message.js';

const secret = 'canary-value-0123456789';
const redactor = createRedactor({ knownValues: [{ value: secret, kind: 'env-secret' }] });
const base = { messageId: 'rmsg_1', runId: 'run-1', sessionId: 'ses_1' };
const results = {
  schemaVersion: 1 as const,
  runId: 'run-1',
  status: 'completed' as const,
  command: ['node', '--test'],
  exitCode: 1,
  durationMs: 5,
  counts: { total: 2, passed: 1, failed: 1, skipped: 0 },
  tests: [
    { name: 'plain', status: 'passed' as const },
    { name: `prints ${secret}`, status: 'failed' as const },
  ],
};

describe('redactMessage: the runtime redaction point', () => {
  it('redacts a record and says what, where and how many, never the value', () => {
    const out = redactMessage(redactor, { type: 'evidence.test-results', ...base, record: results });
    expect(out.type === 'evidence.test-results' && out.record).toMatchObject({
      tests: [{ name: 'plain' }, { name: 'prints [REDACTED:env-secret]' }],
      redaction: { count: 1, kinds: ['env-secret'], fields: ['tests[1].name'] },
    });
    expect(JSON.stringify(out)).not.toContain(secret);
  });

  it('leaves a record with nothing to redact exactly as it was: no summary', () => {
    const message: UnsignedRuntimeMessage = { type: 'evidence.test-results', ...base, record: { ...results, tests: [results.tests[0] as (typeof results.tests)[0]] } };
    expect(redactMessage(redactor, message)).toBe(message);
  });

  it('redacts any other message whole (a failure reason)', () => {
    const out = redactMessage(redactor, { type: 'session.ended', ...base, outcome: 'failed', reason: `bad token ${secret}`, code: 'X', workspaceUnchanged: true, endedAt: '2026-12-02T10:00:00.000Z' });
    expect(out.type === 'session.ended' && out.reason).toBe('bad token [REDACTED:env-secret]');
  });

  it('refuses a diff holding a secret rather than rewrite it', () => {
    const diff = { type: 'evidence.diff' as const, ...base, baselineCommit: 'a'.repeat(40), patch: `+const k = '${secret}';\n` };
    expect(() => redactMessage(redactor, diff)).toThrow(RuntimeError);
    expect(() => redactMessage(redactor, diff)).toThrow(expect.objectContaining({ code: 'SECRET_IN_DIFF' }));
    const clean = { ...diff, patch: '+const k = 1;\n' };
    expect(redactMessage(redactor, clean)).toBe(clean);
  });
});
