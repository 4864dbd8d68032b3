import { spawn } from 'node:child_process';

/** What one git process did. */
export interface GitResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** The longest Cloud waits on one git process (a push over a slow link included). */
export const GIT_TIMEOUT_MS = 120_000;
const MAX_OUTPUT_BYTES = 80 * 1024 * 1024;

/** The identity and date the pull-request commit is made with: fixed, so its id depends only on the approved bytes. */
export interface CommitStamp {
  name: string;
  email: string;
  /** ISO 8601; the approval's decision time. */
  date: string;
}

/**
 * git's environment for the pull-request step: nothing of the operator's git
 * config, hooks, credential helpers or askpass programs, no prompt, and no
 * token. Credentials reach git only through the per-run helper that
 * `withCredentialHelper` names, as a file path; the token itself is in no
 * child's argv or environment.
 */
export function buildCloudGitEnv(home: string, stamp?: CommitStamp): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: home,
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '/bin/false',
    SSH_ASKPASS: '/bin/false',
  };
  if (stamp !== undefined) {
    Object.assign(env, {
      GIT_AUTHOR_NAME: stamp.name,
      GIT_AUTHOR_EMAIL: stamp.email,
      GIT_AUTHOR_DATE: stamp.date,
      GIT_COMMITTER_NAME: stamp.name,
      GIT_COMMITTER_EMAIL: stamp.email,
      GIT_COMMITTER_DATE: stamp.date,
    });
  }
  return env;
}

/** Config every git of the step runs with: no hooks, no signing prompts, no inherited credential helper, no upkeep. */
export const CLOUD_GIT_CONFIG: readonly string[] = Object.freeze([
  '-c', 'core.hooksPath=/dev/null',
  '-c', 'core.autocrlf=false',
  '-c', 'core.fsmonitor=false',
  '-c', 'commit.gpgsign=false',
  '-c', 'credential.helper=',
  '-c', 'diff.external=',
  '-c', 'advice.detachedHead=false',
  // No background upkeep: a fetch into the scratch repository would otherwise start `git maintenance run --auto`.
  '-c', 'maintenance.auto=false',
  '-c', 'gc.auto=0',
]);

/**
 * Runs git with an argument array (no shell), in `cwd`, with `env`, bounded in
 * time and output. Never throws for a non-zero exit; a git that cannot start
 * is exit code 127.
 */
export function runCloudGit(args: readonly string[], opts: { cwd: string; env: NodeJS.ProcessEnv; input?: string; timeoutMs?: number }): Promise<GitResult> {
  return new Promise((resolve) => {
    const child = spawn('git', [...CLOUD_GIT_CONFIG, ...args], { cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (result: GitResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish({ exitCode: 124, stdout: '', stderr: `git ${args[0] ?? ''} timed out` });
    }, opts.timeoutMs ?? GIT_TIMEOUT_MS);
    const collect = (into: Buffer[]) => (chunk: Buffer): void => {
      size += chunk.length;
      if (size > MAX_OUTPUT_BYTES) child.kill('SIGKILL');
      else into.push(chunk);
    };
    child.stdout.on('data', collect(out));
    child.stderr.on('data', collect(err));
    child.on('error', (error) => finish({ exitCode: 127, stdout: '', stderr: error.message }));
    child.on('close', (code) => finish({ exitCode: code ?? 1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}
