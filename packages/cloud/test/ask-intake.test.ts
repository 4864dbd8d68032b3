import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { CloudError, parseAsk } from '@lumenflow/cloud';

const ASKS = resolve(import.meta.dirname, '../../../scripts/demo/asks');
const happy = readFileSync(join(ASKS, 'happy.json'), 'utf8');

function errorOf(text: string): CloudError {
  try {
    parseAsk(text, 'ask.json');
  } catch (error) {
    if (error instanceof CloudError) return error;
    throw error;
  }
  throw new Error('expected ASK_INVALID');
}

describe('Ask intake', () => {
  test('the checked-in Asks parse', () => {
    expect(parseAsk(happy).askId).toBe('ask-calc-add-fix');
    expect(parseAsk(readFileSync(join(ASKS, 'policy-blocked.json'), 'utf8')).requestedScopes).toHaveLength(6);
  });

  test('a duplicate key is refused at its line and column', () => {
    const error = errorOf('{\n  "askId": "a",\n  "askId": "b"\n}');
    expect(error.code).toBe('ASK_INVALID');
    expect([error.line, error.column]).toEqual([3, 3]);
  });

  test('a schema problem names its path and points at the offending value', () => {
    const text = happy.replace('"kind": "fs.write"', '"kind": "fs.delete"');
    const error = errorOf(text);
    expect(error.path).toMatch(/^requestedScopes\[2\]/);
    const line = text.split('\n')[(error.line ?? 0) - 1] ?? '';
    expect(line).toContain('fs.delete');
  });

  test('an unknown field is refused, not ignored', () => {
    const error = errorOf(happy.replace('"schemaVersion": 1,', '"schemaVersion": 1,\n  "priority": "high",'));
    expect(error.code).toBe('ASK_INVALID');
    expect(error.line).toBe(1);
  });

  test('more than 256 requested scopes is refused: each one is a decision record', () => {
    const ask = JSON.parse(happy) as { requestedScopes: unknown[] };
    const scopes = Array.from({ length: 257 }, (_, i) => ({ kind: 'fs.read', path: `src/f${i}.js` }));
    const error = errorOf(JSON.stringify({ ...ask, requestedScopes: scopes }));
    expect(error.code).toBe('ASK_INVALID');
    expect(error.path).toMatch(/^requestedScopes\b/);
    expect(parseAsk(JSON.stringify({ ...ask, requestedScopes: scopes.slice(0, 256) })).requestedScopes).toHaveLength(256);
  });
});
