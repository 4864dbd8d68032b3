import { describe, expect, test } from 'vitest';
import { selectRuntime } from '@lumenflow/cloud';
import type { EnrolledRuntime } from '@lumenflow/cloud';

function runtime(runtimeId: string, labels: string[]): EnrolledRuntime {
  return {
    runtimeId,
    keyId: `sha256:${'0'.repeat(64)}`,
    publicKey: new Uint8Array(32),
    labels,
    version: '0.1.0',
    host: { os: 'linux', arch: 'x64', nodeVersion: 'v20.20.2', hostnameHash: `sha256:${'1'.repeat(64)}` },
  };
}

describe('dispatch by labels', () => {
  const pool = [runtime('rt-c', ['node', 'git', 'os:linux']), runtime('rt-a', ['node']), runtime('rt-b', ['git', 'node', 'gpu'])];

  test('picks a runtime carrying every label the Ask needs', () => {
    expect(selectRuntime(pool, ['gpu'])?.runtimeId).toBe('rt-b');
    expect(selectRuntime(pool, ['os:linux', 'git'])?.runtimeId).toBe('rt-c');
  });

  test('among several matches, the first by id, so dispatch is reproducible', () => {
    expect(selectRuntime(pool, ['node'])?.runtimeId).toBe('rt-a');
    expect(selectRuntime([...pool].reverse(), ['node', 'git'])?.runtimeId).toBe('rt-b');
  });

  test('no runtime when a label is missing everywhere, or none enrolled', () => {
    expect(selectRuntime(pool, ['node', 'windows'])).toBeUndefined();
    expect(selectRuntime([], [])).toBeUndefined();
  });
});
