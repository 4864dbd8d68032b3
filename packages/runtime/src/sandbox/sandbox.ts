import type { SandboxInfo, ToolCallSandbox } from '@lumenflow/protocol';
import type { SandboxNetwork } from './profile.js';

/** How a tool process ended, as far as the boundary can tell. */
export interface SandboxedResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** The bound that stopped the process, when the boundary knows it did. */
  limit?: 'cpu-time' | 'output' | 'file-size';
}

/** Where every process of a tool call runs. */
export interface Sandbox {
  /** For node-session.json: the kind, version and profile digest, or why there is none. */
  readonly info: SandboxInfo;
  /** For each tool-call record of a process. */
  readonly callInfo: ToolCallSandbox;
  /**
   * Runs a program (no shell) with the workspace as its cwd and only writable path.
   * @throws AbortError when `signal` aborts (the whole process tree is killed);
   *   {@link RuntimeError} SANDBOX_FAILED when the process cannot be started.
   */
  run(
    program: string,
    args: readonly string[],
    opts: {
      workspaceDir: string;
      env: Readonly<Record<string, string>>;
      signal?: AbortSignal;
      /** Runs an agent process: the workspace read-only, this directory its only writable path (docs/agents.md). */
      agentDir?: string;
      /** An agent process's network (default `none`); ignored without `agentDir`: a tool process never has one. */
      network?: SandboxNetwork;
    },
  ): Promise<SandboxedResult>;
}

/** The runtime's sandbox setting: `bubblewrap` (the default) or an explicit opt-out. */
export type SandboxMode = 'bubblewrap' | 'off';
