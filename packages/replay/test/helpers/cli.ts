// Runs the demo CLI as a user would: a real `tsx` process from the repo root.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '../../../..');
// `node --import tsx`, not the tsx CLI: the CLI is a parent process that relays
// SIGINT to its child, waits only 30 ms for an acknowledgement, and otherwise
// SIGKILLs the child and exits 130, which a loaded CI machine can trip.
const TSX_LOADER = ['--import', 'tsx'] as const;
const ENTRY = resolve(REPO_ROOT, 'scripts/demo/trusted-compute.ts');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const childEnv = (): NodeJS.ProcessEnv => ({ ...process.env, NO_COLOR: '1', LUMENFLOW_DEBUG: '' });

/** Runs the CLI to completion. */
export function runCli(args: readonly string[]): Promise<CliResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [...TSX_LOADER, ENTRY, ...args], { cwd: REPO_ROOT, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** Starts `--replay <dir> --serve --port 0` and resolves once it prints the page URL. */
export function startServeCli(args: readonly string[]): Promise<{ url: string; child: ChildProcess; exited: Promise<CliResult> }> {
  return startServing(process.execPath, [...TSX_LOADER, ENTRY, ...args]);
}

/** Starts any command that serves the Replay page (pnpm, a shell, the launcher) and resolves once it prints the URL. */
export function startServing(program: string, args: readonly string[]): Promise<{ url: string; child: ChildProcess; exited: Promise<CliResult> }> {
  return new Promise((ready, fail) => {
    const child = spawn(program, args, { cwd: REPO_ROOT, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let announced = false;
    const exited = new Promise<CliResult>((done) => child.on('close', (code) => done({ code, stdout, stderr })));
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const match = /Replay page: (http:\/\/127\.0\.0\.1:\d+\/runs\/\S+)/.exec(stdout);
      if (match?.[1] !== undefined && !announced) {
        announced = true;
        ready({ url: match[1], child, exited });
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', fail);
    void exited.then((result) => {
      if (!announced) fail(new Error(`serve exited ${result.code} before announcing a URL: ${result.stderr}`));
    });
  });
}
