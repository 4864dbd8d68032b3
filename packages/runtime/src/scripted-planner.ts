/**
 * One tool call, with its input checked and completed by the runtime (the
 * test command, the baseline of a diff). Each maps to exactly one policy
 * scope before it runs (see `scopeOfStep`).
 */
export type AgentStep =
  | { tool: 'read_file'; path: string }
  | { tool: 'list_files'; path?: string }
  | { tool: 'search'; pattern: string; path?: string }
  | { tool: 'write_file'; path: string; content: string }
  | { tool: 'run_tests'; command?: readonly string[] }
  | { tool: 'run_command'; argv: readonly string[] }
  | { tool: 'git_diff'; baselineCommit: string };

/** What the previous step produced, as the agent sees it. */
export interface StepObservation {
  step: AgentStep;
  status: 'succeeded' | 'failed';
  /** File text for `read_file`; absent otherwise. */
  text?: string;
}

/** Decides the next step from what it has seen; `undefined` means done. */
export interface AgentPlanner {
  readonly name: string;
  next(observations: readonly StepObservation[]): AgentStep | undefined;
}

const SOURCE = 'src/calc.js';
const TEST = 'test/calc.test.js';

/**
 * A fixed, deterministic stand-in for an AI coding agent, scripted for the calc
 * fixture: read the code and its test, fix `add`, run the tests, take the diff.
 * It exists so the chain around an agent (Rules, tool calls, Approvals, Proof)
 * can be shown with real effects and reproducible evidence; it is not an agent.
 */
export function createScriptedPlanner(opts: { baselineCommit: string }): AgentPlanner {
  return {
    name: 'scripted-calc-fixer',
    next(observations) {
      const done = observations.length;
      const last = observations[done - 1];
      if (last !== undefined && last.status === 'failed' && last.step.tool !== 'run_tests') return undefined;
      switch (done) {
        case 0:
          return { tool: 'read_file', path: SOURCE };
        case 1:
          return { tool: 'read_file', path: TEST };
        case 2: {
          const source = observations[0]?.text ?? '';
          return { tool: 'write_file', path: SOURCE, content: fixAdd(source) };
        }
        case 3:
          return { tool: 'run_tests' };
        case 4:
          return { tool: 'git_diff', baselineCommit: opts.baselineCommit };
        default:
          return undefined;
      }
    },
  };
}

/** The one edit the scripted agent knows: inside `add`, subtraction becomes addition. */
export function fixAdd(source: string): string {
  return source.replace(/(function add\s*\(\s*a\s*,\s*b\s*\)\s*\{\s*return\s+a\s*)-(\s*b\s*;)/, '$1+$2');
}
