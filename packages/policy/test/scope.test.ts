import { describe, expect, it } from 'vitest';
import { formatScope, parseScope, splitCommandLine, toScopeRef } from '@lumenflow/policy';
import { ScopeSchema } from '@lumenflow/protocol';
import type { Scope } from '@lumenflow/protocol';
import fc from 'fast-check';

describe('parseScope', () => {
  const valid: Array<[string, Scope]> = [
    ['fs.write:src/calc.ts', { kind: 'fs.write', path: 'src/calc.ts' }],
    ['fs.read:a:b.txt', { kind: 'fs.read', path: 'a:b.txt' }],
    ['fs.read:', { kind: 'fs.read', path: '' }],
    ['shell.exec:node --test', { kind: 'shell.exec', program: 'node', args: ['--test'] }],
    ["shell.exec:sh -c 'cat .env'", { kind: 'shell.exec', program: 'sh', args: ['-c', 'cat .env'] }],
    ['shell.exec:echo "a \\"b\\"" c\\ d', { kind: 'shell.exec', program: 'echo', args: ['a "b"', 'c d'] }],
    ['secret.write:production/DATABASE_URL', { kind: 'secret.write', environment: 'production', name: 'DATABASE_URL' }],
    ['net.connect:example.com:443', { kind: 'net.connect', host: 'example.com', port: 443 }],
    ['net.connect:[::1]:8080', { kind: 'net.connect', host: '[::1]', port: 8080 }],
    ['pr.create:acme/calc@main', { kind: 'pr.create', repository: 'acme/calc', base: 'main' }],
  ];
  for (const [text, scope] of valid) {
    it(`reads ${JSON.stringify(text)}`, () => {
      expect(parseScope(text)).toEqual(scope);
      expect(ScopeSchema.safeParse(scope).success).toBe(true);
    });
  }

  const invalid = [
    'fs.read',
    'fs.delete:x',
    'shell.exec:',
    "shell.exec:cat 'unterminated",
    'shell.exec:cat trailing\\',
    'secret.read:DATABASE_URL',
    'secret.read:/X',
    'secret.read:prod/',
    'net.connect:example.com',
    'net.connect:example.com:0',
    'net.connect:example.com:65536',
    'net.connect:example.com:44x',
    'pr.create:acme/calc',
    'pr.create:calc@main',
    'pr.create:acme/calc@',
  ];
  for (const text of invalid) {
    it(`rejects ${JSON.stringify(text)} with SCOPE_INVALID`, () => {
      expect(() => parseScope(text)).toThrow(expect.objectContaining({ code: 'SCOPE_INVALID' }));
    });
  }
});

describe('toScopeRef and formatScope', () => {
  it('name the scope as requested', () => {
    expect(toScopeRef({ kind: 'shell.exec', program: 'sh', args: ['-c', "cat '.env'"] })).toEqual({ kind: 'shell.exec', target: `sh -c 'cat '\\''.env'\\'''` });
    expect(toScopeRef({ kind: 'secret.read', environment: 'production', name: 'X' })).toEqual({ kind: 'secret.read', target: 'production/X' });
    expect(toScopeRef({ kind: 'pr.create', repository: 'lumenflow-demo/calc', base: 'main' }).target).toBe('lumenflow-demo/calc@main');
  });

  it('formatScope reads back to the same shell scope (property)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }).filter((s) => !s.includes('\0')), fc.array(fc.string().filter((s) => !s.includes('\0'))), (program, args) => {
        const scope: Scope = { kind: 'shell.exec', program, args };
        expect(parseScope(formatScope(scope))).toEqual(scope);
      }),
    );
  });

  it('splitCommandLine keeps quoted words whole', () => {
    expect(splitCommandLine(`a 'b c' "d e" f\\ g ''`)).toEqual(['a', 'b c', 'd e', 'f g', '']);
  });
});
