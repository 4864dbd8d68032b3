import { canonicalizeToBytes, computeSha256Digest } from '@lumenflow/protocol';
import type { Scope } from '@lumenflow/protocol';
import { listFilesTool, readFileTool, searchTool, writeFileTool } from './fs-tools.js';
import { gitDiffTool, runCommandTool, runTestsTool } from './process-tools.js';
import type { AgentStep } from './scripted-planner.js';

/** The exact command the runtime runs the fixture's tests with. */
export const TEST_COMMAND: readonly string[] = Object.freeze(['node', '--test', '--test-reporter=tap']);

/** The git diff a tool call runs, against a baseline commit. */
export function buildDiffCommand(baselineCommit: string): string[] {
  // --no-textconv: a textconv driver named in .gitattributes would run a command of its own.
  // --binary: a new or changed binary file is a real binary patch, so the approved patch applies.
  // --full-index: blob ids in full, so the bytes do not depend on how many objects a repository holds
  // (Cloud diffs the commit it pushes the same way and compares the bytes).
  return ['git', 'diff', '--no-color', '--no-ext-diff', '--no-textconv', '--binary', '--full-index', baselineCommit];
}

/** The policy scope a step needs. Shell steps name their exact program and arguments; a listing or a search reads its directory. */
export function scopeOfStep(step: AgentStep): Scope {
  switch (step.tool) {
    case 'read_file':
      return { kind: 'fs.read', path: step.path };
    case 'list_files':
    case 'search':
      return { kind: 'fs.read', path: step.path ?? '.' };
    case 'write_file':
      return { kind: 'fs.write', path: step.path };
    case 'run_tests':
      return execScope(step.command ?? TEST_COMMAND);
    case 'run_command':
      return execScope(step.argv);
    case 'git_diff':
      return execScope(buildDiffCommand(step.baselineCommit));
  }
}

function execScope(command: readonly string[]): Scope {
  const [program, ...args] = command as [string, ...string[]];
  return { kind: 'shell.exec', program, args };
}

/** The input as recorded: a summary for people and a hash over the exact input. Written content is hashed, not copied. */
export function describeStepInput(step: AgentStep): { summary: string; hash: string } {
  let input: unknown;
  let summary: string;
  switch (step.tool) {
    case 'read_file':
      input = { tool: step.tool, path: step.path };
      summary = `read ${step.path}`;
      break;
    case 'list_files':
      input = { tool: step.tool, path: step.path ?? '.' };
      summary = `list ${step.path ?? '.'}`;
      break;
    case 'search':
      input = { tool: step.tool, path: step.path ?? '.', pattern: step.pattern };
      summary = `search ${step.path ?? '.'} for ${JSON.stringify(step.pattern.slice(0, 80))}`;
      break;
    case 'write_file': {
      const content = Buffer.from(step.content, 'utf8');
      input = { tool: step.tool, path: step.path, contentSha256: computeSha256Digest(content) };
      summary = `write ${step.path} (${content.length} bytes)`;
      break;
    }
    case 'run_tests': {
      const command = [...(step.command ?? TEST_COMMAND)];
      input = { tool: step.tool, command };
      summary = command.join(' ');
      break;
    }
    case 'run_command':
      input = { tool: step.tool, command: [...step.argv] };
      summary = step.argv.join(' ').slice(0, 500);
      break;
    case 'git_diff': {
      const command = buildDiffCommand(step.baselineCommit);
      input = { tool: step.tool, command };
      summary = command.join(' ');
      break;
    }
  }
  return { summary, hash: computeSha256Digest(canonicalizeToBytes(input)) };
}

import type { StepContext, StepResult } from './step-result.js';
export type { StepContext, StepResult } from './step-result.js';

/**
 * Executes one step in the workspace. Runs only after Rules allowed its scope.
 * Processes run in the sandbox, without a shell and with a minimal environment,
 * so no secret in the runtime's own environment reaches the tool.
 *
 * @throws {RuntimeError} SANDBOX_UNAVAILABLE for a process step without a sandbox.
 */
export async function executeStep(step: AgentStep, workspaceDir: string, context: StepContext = {}): Promise<StepResult> {
  const canRead = context.canRead ?? (() => false);
  switch (step.tool) {
    case 'read_file':
      return readFileTool(workspaceDir, step.path);
    case 'write_file':
      return writeFileTool(workspaceDir, step.path, step.content);
    case 'list_files':
      return listFilesTool(workspaceDir, step.path ?? '.', canRead);
    case 'search':
      return searchTool(workspaceDir, step.path ?? '.', step.pattern, canRead);
    case 'run_tests':
      return runTestsTool(step.command ?? TEST_COMMAND, workspaceDir, context);
    case 'run_command':
      return runCommandTool(step.argv, workspaceDir, context);
    case 'git_diff':
      return gitDiffTool(buildDiffCommand(step.baselineCommit), workspaceDir, context);
  }
}
