import { canonicalizeToBytes, computeSha256Digest, omitUndefined } from '@lumenflow/protocol';
import { RuntimeError } from './errors.js';
import type { SandboxedResult } from './sandbox/sandbox.js';
import { parseTapResults } from './tap.js';
import { TOOL_LIMITS, clip } from './tool-limits.js';
import type { StepContext, StepResult } from './step-result.js';
import { TOOL_GIT_ENV } from './workspace.js';

// The whole environment a tool process gets: nothing of the runtime's own.
const PLAIN_ENV: Readonly<Record<string, string>> = Object.freeze({ NO_COLOR: '1', LC_ALL: 'C' });

function run(command: readonly string[], env: Readonly<Record<string, string>>, workspaceDir: string, context: StepContext): Promise<SandboxedResult> {
  if (context.sandbox === undefined) throw new RuntimeError('SANDBOX_UNAVAILABLE', `${command[0] ?? 'a tool'} starts a process and no sandbox was given`);
  const [program, ...args] = command as [string, ...string[]];
  return context.sandbox.run(program, args, { workspaceDir, env, ...omitUndefined({ signal: context.signal }) });
}

export async function runTestsTool(command: readonly string[], workspaceDir: string, context: StepContext): Promise<StepResult> {
  const result = await run(command, PLAIN_ENV, workspaceDir, context);
  const parsed = parseTapResults(result.stdout);
  const testRun = { exitCode: result.exitCode, ...parsed };
  const { counts } = parsed;
  // Hash the parsed results, not the raw TAP: TAP carries timings and paths that differ run to run.
  return {
    status: result.exitCode === 0 ? 'succeeded' : 'failed',
    exitCode: result.exitCode,
    outputHash: computeSha256Digest(canonicalizeToBytes(testRun)),
    testRun,
    text: `exit ${result.exitCode}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped of ${counts.total}\n${clip(result.stdout, TOOL_LIMITS.processOutputBytes).text}`,
    ...omitUndefined({ limit: result.limit }),
  };
}

export async function runCommandTool(argv: readonly string[], workspaceDir: string, context: StepContext): Promise<StepResult> {
  const result = await run(argv, PLAIN_ENV, workspaceDir, context);
  const stdout = clip(result.stdout, TOOL_LIMITS.processOutputBytes);
  const stderr = clip(result.stderr, TOOL_LIMITS.processOutputBytes);
  const limit = result.limit ?? (stdout.clipped || stderr.clipped ? ('output' as const) : undefined);
  return {
    status: result.exitCode === 0 ? 'succeeded' : 'failed',
    exitCode: result.exitCode,
    outputHash: computeSha256Digest(canonicalizeToBytes({ stdout: result.stdout, stderr: result.stderr })),
    text: `exit ${result.exitCode}\n--- stdout\n${stdout.text}\n--- stderr\n${stderr.text}`,
    ...omitUndefined({ limit }),
  };
}

export async function gitDiffTool(command: readonly string[], workspaceDir: string, context: StepContext): Promise<StepResult> {
  const result = await run(command, TOOL_GIT_ENV, workspaceDir, context);
  const bytes = Buffer.from(result.stdout, 'utf8');
  return {
    status: result.exitCode === 0 ? 'succeeded' : 'failed',
    exitCode: result.exitCode,
    outputHash: computeSha256Digest(bytes),
    patch: result.stdout,
    text: result.exitCode === 0 ? clip(result.stdout, TOOL_LIMITS.processOutputBytes).text || '(no changes)' : `git diff exited ${result.exitCode}`,
    ...omitUndefined({ limit: result.limit }),
  };
}
