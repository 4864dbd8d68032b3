import type { Sandbox, SandboxedResult } from './sandbox/sandbox.js';
import type { ParsedTestRun } from './tap.js';

/** Whether a listing or a search may show this workspace path (Rules on fs.read). */
export type CanRead = (path: string) => boolean;

/** What one executed step produced. */
export interface StepResult {
  status: 'succeeded' | 'failed';
  outputHash: string;
  exitCode?: number;
  /** What the agent is shown: file text, a listing, matches, a process's output, or why the call failed. */
  text?: string;
  /** Parsed results of a test run. */
  testRun?: ParsedTestRun & { exitCode: number };
  /** The patch of a diff. */
  patch?: string;
  /** The bound that stopped the call's process, or cut what the agent is shown. */
  limit?: SandboxedResult['limit'];
}

/** Where a step runs: the workspace, and the sandbox for steps that start a process. */
export interface StepContext {
  sandbox?: Sandbox;
  signal?: AbortSignal;
  /** Which files a listing or a search may show (default: none). */
  canRead?: CanRead;
}
