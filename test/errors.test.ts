// Every package's error class is the one coded skeleton: a literal code, the cause, and where.
import { describe, expect, it } from 'vitest';
import { CloudError } from '@lumenflow/cloud';
import { PolicyError } from '@lumenflow/policy';
import { CodedError, ProtocolError } from '@lumenflow/protocol';
import { RuntimeError } from '@lumenflow/runtime';
import { VerifierError } from '@lumenflow/verifier';
import { CliError } from '../scripts/demo/cli-error.js';

describe('CodedError', () => {
  const cause = new Error('underneath');
  it.each([
    ['ProtocolError', new ProtocolError('JSON_SYNTAX', 'm', { cause, line: 2, column: 3, path: 'a[0].b' })],
    ['CloudError', new CloudError('ASK_INVALID', 'm', { cause, line: 2, column: 3, path: 'a[0].b' })],
    ['PolicyError', new PolicyError('RULES_INVALID', 'm', { cause, file: 'r.yaml', line: 2, column: 3, path: 'a[0].b' })],
    ['RuntimeError', new RuntimeError('ABORTED', 'm', { cause })],
    ['VerifierError', new VerifierError('BUNDLE_EXISTS', 'm', { cause })],
    ['CliError', new CliError('USAGE', 'm', 2, { cause })],
  ])('%s is a CodedError with its name, code and cause', (name, error) => {
    expect(error).toBeInstanceOf(CodedError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe(name);
    expect(typeof error.code).toBe('string');
    expect(error.cause).toBe(cause);
    expect(error.message).toBe('m');
  });

  it('keeps the location it was given, and none it was not', () => {
    const error = new PolicyError('RULES_INVALID', 'm', { file: 'r.yaml', line: 2, column: 3, path: 'rules[1].effect' });
    expect([error.file, error.line, error.column, error.path]).toEqual(['r.yaml', 2, 3, 'rules[1].effect']);
    const bare = new VerifierError('BUNDLE_EXISTS', 'm');
    expect([bare.file, bare.line, bare.column, bare.path, bare.cause]).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });
});
