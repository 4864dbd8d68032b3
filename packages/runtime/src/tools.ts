import { constants } from 'node:fs';
import { open, readFile, realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { canonicalizeToBytes, computeSha256Digest } from '@lumenflow/protocol';
import type { Scope } from '@lumenflow/protocol';
import { RuntimeError } from './errors.js';
import type { Sandbox, SandboxedResult } from './sandbox/sandbox.js';
import type { AgentStep } from './scripted-planner.js';
import { parseTapResults } from './tap.js';
import type { ParsedTestRun } from './tap.js';
import { TOOL_GIT_ENV } from './workspace.js';

/** The exact command the runtime runs the fixture's tests with. */
export const TEST_COMMAND: readonly string[] = Object.freeze(['node', '--test', '--test-reporter=tap']);

/** The git diff a tool call runs, against a baseline commit. */
export function buildDiffCommand(baselineCommit: string): string[] {
  // --no-textconv: a textconv driver named in .gitattributes would run a command of its own.
  return ['git', 'diff', '--no-color', '--no-ext-diff', '--no-textconv', baselineCommit];
}

/** The policy scope a step needs. Shell steps name their exact program and arguments. */
export function scopeOfStep(step: AgentStep): Scope {
  switch (step.tool) {
    case 'read_file':
      return { kind: 'fs.read', path: step.path };
    case 'write_file':
      return { kind: 'fs.write', path: step.path };
    case 'run_tests': {
      const [program, ...args] = TEST_COMMAND as [string, ...string[]];
      return { kind: 'shell.exec', program, args };
    }
    case 'git_diff': {
      const [program, ...args] = buildDiffCommand(step.baselineCommit) as [string, ...string[]];
      return { kind: 'shell.exec', program, args };
    }
  }
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
    case 'write_file': {
      const content = Buffer.from(step.content, 'utf8');
      input = { tool: step.tool, path: step.path, contentSha256: computeSha256Digest(content) };
      summary = `write ${step.path} (${content.length} bytes)`;
      break;
    }
    case 'run_tests':
      input = { tool: step.tool, command: [...TEST_COMMAND] };
      summary = TEST_COMMAND.join(' ');
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

/** What one executed step produced. */
export interface StepResult {
  status: 'succeeded' | 'failed';
  outputHash: string;
  exitCode?: number;
  /** File text of a read. */
  text?: string;
  /** Parsed results of a test run. */
  testRun?: ParsedTestRun & { exitCode: number };
  /** The patch of a diff. */
  patch?: string;
  /** The bound that stopped the call's process, when one did. */
  limit?: SandboxedResult['limit'];
}

/** Where a step runs: the workspace, and the sandbox for steps that start a process. */
export interface StepContext {
  sandbox?: Sandbox;
  signal?: AbortSignal;
}

/**
 * Executes one step in the workspace. Runs only after Rules allowed its scope.
 * Processes run in the sandbox, without a shell and with a minimal environment,
 * so no secret in the runtime's own environment reaches the tool.
 *
 * @throws {RuntimeError} SANDBOX_UNAVAILABLE for a process step without a sandbox.
 */
export async function executeStep(step: AgentStep, workspaceDir: string, context: StepContext = {}): Promise<StepResult> {
  const run = (command: readonly string[], env: Readonly<Record<string, string>>): Promise<SandboxedResult> => {
    if (context.sandbox === undefined) throw new RuntimeError('SANDBOX_UNAVAILABLE', `${step.tool} starts a process and no sandbox was given`);
    const [program, ...args] = command as [string, ...string[]];
    return context.sandbox.run(program, args, { workspaceDir, env, ...(context.signal === undefined ? {} : { signal: context.signal }) });
  };
  switch (step.tool) {
    case 'read_file': {
      const path = await resolveInside(workspaceDir, step.path);
      if (path === undefined) return failed();
      const bytes = await readFile(path).catch(() => undefined);
      if (bytes === undefined) return failed();
      return { status: 'succeeded', outputHash: computeSha256Digest(bytes), text: bytes.toString('utf8') };
    }
    case 'write_file': {
      const path = await resolveInside(workspaceDir, step.path);
      if (path === undefined) return failed();
      const bytes = Buffer.from(step.content, 'utf8');
      const ok = await writeNoFollow(path, bytes).then(
        () => true,
        () => false,
      );
      return ok ? { status: 'succeeded', outputHash: computeSha256Digest(bytes) } : failed();
    }
    case 'run_tests': {
      const result = await run(TEST_COMMAND, { NO_COLOR: '1', LC_ALL: 'C' });
      const parsed = parseTapResults(result.stdout);
      const testRun = { exitCode: result.exitCode, ...parsed };
      // Hash the parsed results, not the raw TAP: TAP carries timings and paths that differ run to run.
      return {
        status: result.exitCode === 0 ? 'succeeded' : 'failed',
        exitCode: result.exitCode,
        outputHash: computeSha256Digest(canonicalizeToBytes(testRun)),
        testRun,
        ...(result.limit === undefined ? {} : { limit: result.limit }),
      };
    }
    case 'git_diff': {
      const result = await run(buildDiffCommand(step.baselineCommit), TOOL_GIT_ENV);
      const bytes = Buffer.from(result.stdout, 'utf8');
      return {
        status: result.exitCode === 0 ? 'succeeded' : 'failed',
        exitCode: result.exitCode,
        outputHash: computeSha256Digest(bytes),
        patch: result.stdout,
        ...(result.limit === undefined ? {} : { limit: result.limit }),
      };
    }
  }
}

// realpath cannot see through a dangling symlink, so resolveInside hands such a
// path back as is; O_NOFOLLOW stops the write from creating the link's target
// (which may be `.env` or a file outside the workspace) instead.
async function writeNoFollow(path: string, bytes: Uint8Array): Promise<void> {
  const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644);
  try {
    await handle.writeFile(bytes);
  } finally {
    await handle.close();
  }
}

function failed(): StepResult {
  return { status: 'failed', outputHash: computeSha256Digest(new Uint8Array()) };
}

// Rules judged the path as written; this keeps the effect inside the workspace
// too, even through a symlink planted in the fixture.
async function resolveInside(root: string, path: string): Promise<string | undefined> {
  if (isAbsolute(path)) return undefined;
  const realRoot = await realpath(root);
  const target = resolve(realRoot, path);
  const rel = relative(realRoot, target);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return undefined;
  const real = await realpath(target).catch(() => target);
  return real.startsWith(realRoot + sep) ? real : undefined;
}
