import { describe, expect, test } from 'vitest';
import { createScriptedPlanner, describeStepInput, fixAdd, scopeOfStep } from '@lumenflow/runtime';
import type { AgentStep, StepObservation } from '@lumenflow/runtime';

const BASE = 'a'.repeat(40);

function drive(readText: string, failAt?: number): AgentStep[] {
  const planner = createScriptedPlanner({ baselineCommit: BASE });
  const seen: StepObservation[] = [];
  const steps: AgentStep[] = [];
  for (let step = planner.next(seen); step !== undefined; step = planner.next(seen)) {
    steps.push(step);
    const status = steps.length === failAt ? 'failed' : 'succeeded';
    seen.push({ step, status, ...(step.tool === 'read_file' ? { text: readText } : {}) });
  }
  return steps;
}

describe('the scripted planner (a stand-in for an agent)', () => {
  test('takes exactly the demo steps, in order, with the scopes Rules will see', () => {
    const steps = drive('export function add(a, b) {\n  return a - b;\n}\n');
    expect(steps.map((s) => s.tool)).toEqual(['read_file', 'read_file', 'write_file', 'run_tests', 'git_diff']);
    expect(steps.map((s) => scopeOfStep(s))).toEqual([
      { kind: 'fs.read', path: 'src/calc.js' },
      { kind: 'fs.read', path: 'test/calc.test.js' },
      { kind: 'fs.write', path: 'src/calc.js' },
      { kind: 'shell.exec', program: 'node', args: ['--test', '--test-reporter=tap'] },
      { kind: 'shell.exec', program: 'git', args: ['diff', '--no-color', '--no-ext-diff', '--no-textconv', '--binary', '--full-index', BASE] },
    ]);
    expect(steps[2]).toMatchObject({ content: 'export function add(a, b) {\n  return a + b;\n}\n' });
  });

  test('stops after a failed step other than the tests', () => {
    expect(drive('x', 1).map((s) => s.tool)).toEqual(['read_file']);
    expect(drive('x', 4).map((s) => s.tool)).toEqual(['read_file', 'read_file', 'write_file', 'run_tests', 'git_diff']);
  });

  test('fixAdd changes only the body of add', () => {
    const source = 'export function add(a, b) {\n  return a - b;\n}\nexport function sub(a, b) {\n  return a - b;\n}\n';
    expect(fixAdd(source)).toBe(source.replace('return a - b;', 'return a + b;'));
    expect(fixAdd('nothing to fix')).toBe('nothing to fix');
  });

  test('a written file is recorded by hash, never by content', () => {
    const input = describeStepInput({ tool: 'write_file', path: 'src/calc.js', content: 'SECRET-LOOKING CONTENT' });
    expect(input.summary).not.toContain('SECRET');
    expect(input.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});
