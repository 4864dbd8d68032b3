import { describe, expect, it } from 'vitest';
import type { RuntimeToCloudMessage, TestResults } from '@lumenflow/protocol';
import { createEvidenceRedactor } from '../src/redact-evidence.js';

const token = 'provider-token-value-1234567890';
const signature = { keyId: `sha256:${'a'.repeat(64)}`, value: `${'A'.repeat(86)}==` };
const base = { messageId: 'rmsg_1', runId: 'run-1', sessionId: 'ses_1', signature };

describe("Cloud's redaction point", () => {
  const secrets = createEvidenceRedactor([{ value: 'cloud-known-secret-value', kind: 'provider-token' }], { GITHUB_TOKEN: token });

  it('knows the values passed and GITHUB_TOKEN from the environment', () => {
    expect(secrets.text(`a ${token} b cloud-known-secret-value`)).toBe('a [REDACTED:provider-token] b [REDACTED:provider-token]');
  });

  it("adds a summary to a record it redacts and leaves a clean one as it was (same object, same bytes)", () => {
    const clean: TestResults = { schemaVersion: 1, runId: 'run-1', status: 'not_run', reason: 'No tests ran.' };
    expect(secrets.record(clean)).toBe(clean);
    expect(secrets.record<TestResults>({ ...clean, reason: `failed with ${token}` })).toEqual({
      ...clean,
      reason: 'failed with [REDACTED:provider-token]',
      redaction: { count: 1, kinds: ['provider-token'], fields: ['reason'] },
    });
  });

  it('finds a secret it knows in a signed runtime message (which it cannot redact), but not in the signature', () => {
    const ended = { type: 'session.ended', ...base, outcome: 'failed', reason: `token ${token}`, code: 'X', workspaceUnchanged: true, endedAt: '2026-12-02T10:00:00.000Z' } as RuntimeToCloudMessage;
    expect(secrets.secretIn(ended)).toBe('provider-token');
    expect(secrets.secretIn({ ...ended, reason: 'clean' } as RuntimeToCloudMessage)).toBeUndefined();
    const diff = { type: 'evidence.diff', ...base, baselineCommit: 'b'.repeat(40), patch: `+k = "${token}"\n` } as RuntimeToCloudMessage;
    expect(secrets.secretIn(diff)).toBe('provider-token');
  });
});
