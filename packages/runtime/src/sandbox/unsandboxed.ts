import { RuntimeError } from '../errors.js';
import { runProcess } from '../process.js';
import { DEFAULT_SANDBOX_LIMITS } from './profile.js';
import type { Sandbox } from './sandbox.js';
import { omitUndefined } from '@lumenflow/protocol';

/**
 * The explicit opt-out: tool processes run as the runtime's own user, with
 * only the output cap and the wall-time bound. node-session.json and every
 * tool call say so, and Replay shows it as a warning.
 */
export function createUnsandboxed(reason: string): Sandbox {
  return {
    info: { kind: 'none', reason },
    callInfo: { kind: 'none' },
    run: async (program, args, opts) => {
      try {
        const result = await runProcess(program, args, {
          cwd: opts.workspaceDir,
          env: { ...opts.env, PATH: process.env['PATH'] ?? '' },
          maxOutputBytes: DEFAULT_SANDBOX_LIMITS.outputBytes,
          ...omitUndefined({ signal: opts.signal }),
        });
        return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr, ...(result.outputLimited ? { limit: 'output' as const } : {}) };
      } catch (error) {
        if ((error as { name?: unknown }).name === 'AbortError') throw error;
        throw new RuntimeError('SANDBOX_FAILED', `cannot start ${program}`, { cause: error });
      }
    },
  };
}
