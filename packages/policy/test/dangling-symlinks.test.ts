import { mkdirSync, mkdtempSync, readlinkSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESERVED_RULE_IDS, evaluateScope } from '@lumenflow/policy';
import type { EvaluationContext } from '@lumenflow/policy';
import { rule, ruleSet } from './helpers.js';

// A write through a dangling symlink creates the link's target. Judging the
// link's own name (inside an allowed directory) was a wrong allow: a planted
// `src/notes -> ../.env` or `src/out -> /tmp/x` let an allowed write create a
// denied file or a file outside the workspace.
const layers = {
  cloud: ruleSet([
    rule('allow', { kind: 'fs.write', path: 'src/**' }, 'org.src.write'),
    rule('allow', { kind: 'fs.read', path: 'src/**' }, 'org.src.read'),
    rule('deny', { kind: 'fs.write', path: '**/.env*' }, 'org.env.write'),
    rule('allow', { kind: 'shell.exec', program: 'touch' }, 'org.shell.touch'),
  ]),
};

function orUndefined<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

describe('dangling symlinks are judged as the file a write would create', () => {
  let base: string;
  let ws: string;
  let context: EvaluationContext;
  beforeAll(() => {
    base = realpathSync(mkdtempSync(join(tmpdir(), 'lf-dangling-')));
    ws = join(base, 'ws');
    mkdirSync(join(ws, 'src', 'deep'), { recursive: true });
    symlinkSync('../.env.local', join(ws, 'src', 'notes.txt'));
    symlinkSync(join(base, 'not-yet'), join(ws, 'src', 'out.txt'));
    symlinkSync('hop2', join(ws, 'src', 'hop1'));
    symlinkSync('../../.env', join(ws, 'src', 'deep', 'hop2-target'));
    symlinkSync('deep/hop2-target', join(ws, 'src', 'hop2'));
    symlinkSync('loop-b', join(ws, 'src', 'loop-a'));
    symlinkSync('loop-a', join(ws, 'src', 'loop-b'));
    symlinkSync('fresh.ts', join(ws, 'src', 'alias.ts'));
    writeFileSync(join(ws, 'src', 'calc.ts'), '');
    context = {
      workspaceRoot: ws,
      realpath: (p) => orUndefined(() => realpathSync(p)),
      readlink: (p) => orUndefined(() => readlinkSync(p)),
    };
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('a dangling link to a denied file is denied by that file’s rule', () => {
    const decision = evaluateScope(layers, { kind: 'fs.write', path: 'src/notes.txt' }, context);
    expect(decision.effect).toBe('deny');
    expect(decision.decidingRuleId).toBe('org.env.write');
  });

  it('a dangling link out of the workspace is outside the workspace', () => {
    expect(evaluateScope(layers, { kind: 'fs.write', path: 'src/out.txt' }, context).decidingRuleId).toBe(RESERVED_RULE_IDS.outsideWorkspace);
    expect(evaluateScope(layers, { kind: 'fs.read', path: 'src/out.txt' }, context).decidingRuleId).toBe(RESERVED_RULE_IDS.outsideWorkspace);
  });

  it('a chain of dangling links is followed to its end, each hop relative to its own directory', () => {
    const decision = evaluateScope(layers, { kind: 'fs.write', path: 'src/hop1' }, context);
    expect(decision.effect).toBe('deny');
    expect(decision.decidingRuleId).toBe('org.env.write');
  });

  it('a symlink loop is never allowed', () => {
    expect(evaluateScope(layers, { kind: 'fs.write', path: 'src/loop-a' }, context).effect).toBe('deny');
  });

  it('a dangling link to an allowed name, and ordinary new files, stay allowed', () => {
    expect(evaluateScope(layers, { kind: 'fs.write', path: 'src/alias.ts' }, context).effect).toBe('allow');
    expect(evaluateScope(layers, { kind: 'fs.write', path: 'src/new.ts' }, context).effect).toBe('allow');
    expect(evaluateScope(layers, { kind: 'fs.write', path: 'src/calc.ts' }, context).effect).toBe('allow');
  });

  it('shell operands through a dangling link are judged the same way', () => {
    expect(evaluateScope(layers, { kind: 'shell.exec', program: 'touch', args: ['src/calc.ts'] }, context).effect).toBe('allow');
    const decision = evaluateScope(layers, { kind: 'shell.exec', program: 'touch', args: ['src/notes.txt'] }, context);
    expect(decision.effect).toBe('deny');
    expect(decision.decidingRuleId).toBe('org.env.write');
  });
});
