import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { delimiter, isAbsolute } from 'node:path';

export interface ProcessResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Set when the process was stopped because a stream passed `maxOutputBytes`. */
  outputLimited?: true;
}

/**
 * Runs a program without a shell (arguments are never re-parsed, so a scope of
 * `node --test` cannot become `node --test; rm -rf`), collecting its output.
 */
export function runProcess(
  program: string,
  args: readonly string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; signal?: AbortSignal; maxOutputBytes?: number },
): Promise<ProcessResult> {
  const cap = opts.maxOutputBytes ?? Number.POSITIVE_INFINITY;
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(abortError());
      return;
    }
    // Its own process group, so that stopping it also stops what it started
    // (`node --test` runs each test file in a child), whether or not the
    // program passes the signal on.
    const child = spawn(program, [...args], {
      cwd: opts.cwd,
      env: withTrustedPath(opts.env),
      shell: false,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const killGroup = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    const onAbort = (): void => {
      killGroup();
      reject(abortError());
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    // Output is kept up to the cap; past it the process is stopped, so that
    // endless output costs neither memory nor time.
    let limited = false;
    const collect = (into: Buffer[]): ((chunk: Buffer) => void) => {
      let size = 0;
      return (chunk) => {
        if (limited) return;
        const room = cap - size;
        if (chunk.length > room) {
          into.push(chunk.subarray(0, Math.max(0, room)));
          limited = true;
          killGroup();
          return;
        }
        size += chunk.length;
        into.push(chunk);
      };
    };
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', collect(out));
    child.stderr.on('data', collect(err));
    child.on('error', (error) => {
      opts.signal?.removeEventListener('abort', onAbort);
      reject(error);
    });
    child.on('close', (code, signal) => {
      opts.signal?.removeEventListener('abort', onAbort);
      resolve({
        exitCode: code ?? (signal === null ? 1 : 128 + (osConstants.signals[signal] ?? 15)),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        ...(limited ? { outputLimited: true as const } : {}),
      });
    });
  });
}

function abortError(): Error {
  return Object.assign(new Error('the process was stopped'), { name: 'AbortError', code: 'ABORT_ERR' });
}

/**
 * Drops relative PATH entries (`.`, empty, `bin`). The cwd of every tool call
 * is the workspace, whose files the agent writes: with a relative entry, a file
 * named `node` or `git` there would run in place of the program Rules allowed.
 */
export function withTrustedPath(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const path = env['PATH'];
  if (path === undefined) return env;
  return { ...env, PATH: path.split(delimiter).filter((entry) => entry !== '' && isAbsolute(entry)).join(delimiter) };
}
