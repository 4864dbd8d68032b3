import { describe, expect, it } from 'vitest';
import { CHECK_NAMES } from '@lumenflow/verifier';
import { CHECKS } from '../src/checks/table.js';

describe('the table of checks', () => {
  it('has one row per reported check, none twice', () => {
    const names = CHECKS.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    expect([...names].sort()).toEqual([...CHECK_NAMES].sort());
  });

  it('runs the manifest checks before any check that reads the manifest they establish', () => {
    const at = (name: string): number => CHECKS.findIndex((c) => c.name === name);
    for (const reader of ['bundle.entries', 'signature.valid', 'signer.key-id', 'dsse.envelope', 'artifacts.paths', 'mode.rules', 'runtime.receipts']) {
      expect(at('manifest.schema'), reader).toBeLessThan(at(reader));
    }
    for (const reader of ['signature.valid', 'signer.key-id', 'signer.trusted', 'dsse.envelope']) expect(at('public-key.valid'), reader).toBeLessThan(at(reader));
  });
});
