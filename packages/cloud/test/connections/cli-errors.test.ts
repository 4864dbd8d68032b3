// `pnpm lumenflow` tried as a new user would (issue 12): a typo in --data-dir,
// a missing workspace, a broken Ask file, a bad --policy, and the enrollment
// token kept out of argv. Every error is one line with a code, exit 2, and names
// the file or directory it is about.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEnrollToken } from '@lumenflow/cloud';
import { omitUndefined, systemClock } from '@lumenflow/protocol';
import { createTempDir } from './helpers.js';

const REPO_ROOT = resolve(import.meta.dirname, '../../../..');
const CLI = ['--import', 'tsx', 'scripts/lumenflow.ts'];
const HAPPY_ASK = join(REPO_ROOT, 'scripts/demo/asks/happy.json');

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

function cli(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [...CLI, ...args], { cwd: REPO_ROOT, encoding: 'utf8', ...omitUndefined({ input }) });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function expectOneLineError(result: { status: number | null; stderr: string }, code: string, names: string): void {
  expect(result.status, result.stderr).toBe(2);
  expect(result.stderr).toMatch(new RegExp(`^error ${code}: `));
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).toContain(names);
}

async function cloudDataDir(): Promise<string> {
  const dataDir = await createTempDir('cli');
  // What `cloud serve` leaves behind on its first start.
  await writeFile(join(dataDir, 'cloud-key.pem'), 'placeholder\n', { mode: 0o600 });
  return dataDir;
}

describe('a missing or mistyped data directory', () => {
  it('is DATA_DIR_MISSING for cloud ask and cloud approvals, and nothing is created', async () => {
    const typo = join(await createTempDir('cli'), 'clodu');
    expectOneLineError(cli(['cloud', 'ask', '--data-dir', typo, HAPPY_ASK]), 'DATA_DIR_MISSING', typo);
    expectOneLineError(cli(['cloud', 'approvals', '--data-dir', typo]), 'DATA_DIR_MISSING', typo);
    expect(existsSync(typo)).toBe(false);
  });

  it('is DATA_DIR_INVALID for a directory no Cloud ever served', async () => {
    const empty = await createTempDir('cli');
    expectOneLineError(cli(['cloud', 'enroll-token', '--data-dir', empty]), 'DATA_DIR_INVALID', empty);
  });

  it('is DATA_DIR_FILE_STATE, exit 2, for a directory with the file-backed state of an earlier Cloud', async () => {
    const dataDir = await cloudDataDir();
    await mkdir(join(dataDir, 'runtimes'));
    expectOneLineError(cli(['cloud', 'approvals', '--data-dir', dataDir]), 'DATA_DIR_FILE_STATE', dataDir);
  });
});

describe('errors name their file', () => {
  it('a broken Ask file is named as given, with line and column, not as "ask"', async () => {
    const dataDir = await cloudDataDir();
    const file = join(dataDir, 'broken-ask.json');
    await writeFile(file, '{\n  "schemaVersion": 1,\n  oops\n}\n');
    const result = cli(['cloud', 'ask', '--data-dir', dataDir, file]);
    expectOneLineError(result, 'ASK_INVALID', `${file}:3:`);
    expect(result.stderr).not.toMatch(/\bask:\d/);
  });

  it('a bad --policy names its path once', async () => {
    const dataDir = await createTempDir('cli');
    const result = cli(['cloud', 'serve', '--data-dir', dataDir, '--port', '0', '--policy', 'no-such-rules.yaml', '--log-level', 'silent']);
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr.split('no-such-rules.yaml').length - 1).toBe(1);
  });

  it('runtime connect --workspace /nonexistent is WORKSPACE_MISSING before anything connects', async () => {
    const missing = join(await createTempDir('cli'), 'nonexistent');
    expectOneLineError(cli(['runtime', 'connect', '--cloud', 'http://127.0.0.1:9', '--workspace', missing, '--state-dir', await createTempDir('rt')]), 'WORKSPACE_MISSING', missing);
  });
});

describe('the enrollment token without argv', () => {
  /** `cloud serve` as a real process: the runtime's handshake needs the chain's Cloud, not only Connections. */
  async function serve(): Promise<{ url: string; dataDir: string }> {
    const dataDir = await createTempDir('cli');
    const child = spawn(process.execPath, [...CLI, 'cloud', 'serve', '--data-dir', dataDir, '--port', '0', '--log-level', 'silent'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    const url = await new Promise<string>((resolveUrl, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /cloud listening on (\S+)/.exec(out);
        if (m?.[1] !== undefined) resolveUrl(m[1]);
      });
      child.once('exit', (code) => reject(new Error(`cloud serve exited ${code}`)));
    });
    return { url, dataDir };
  }

  function connect(url: string, extra: string[], env: NodeJS.ProcessEnv, stdin?: string): Promise<string> {
    return createTempDir('rt').then(
      (stateDir) =>
        new Promise((resolveLine, reject) => {
          const child = spawn(process.execPath, [...CLI, 'runtime', 'connect', '--cloud', url, '--state-dir', stateDir, '--sandbox', 'off', '--log-level', 'silent', ...extra], {
            cwd: REPO_ROOT,
            env: { ...process.env, ...env },
            stdio: ['pipe', 'pipe', 'pipe'],
          });
          children.push(child);
          child.stdin.end(stdin ?? '');
          let out = '';
          let err = '';
          child.stderr.on('data', (c: Buffer) => (err += c.toString()));
          child.stdout.on('data', (c: Buffer) => {
            out += c.toString();
            const m = /runtime \S+ connected to \S+ \((enrolled|resumed)/.exec(out);
            if (m) resolveLine(m[1] as string);
          });
          child.once('exit', (code) => reject(new Error(`runtime exited ${code}: ${err}`)));
        }),
    );
  }

  it('enrolls with LUMENFLOW_ENROLL_TOKEN, and with --enroll-token-file - on stdin', async () => {
    const { url, dataDir } = await serve();
    const viaEnv = await createEnrollToken({ dataDir, clock: systemClock });
    expect(await connect(url, [], { LUMENFLOW_ENROLL_TOKEN: viaEnv.token })).toBe('enrolled');
    const viaStdin = await createEnrollToken({ dataDir, clock: systemClock });
    expect(await connect(url, ['--enroll-token-file', '-'], {}, `${viaStdin.token}\n`)).toBe('enrolled');
  }, 180_000);

  it('names an unreadable token file', async () => {
    const missing = join(await createTempDir('cli'), 'token.txt');
    await mkdir(join(missing, '..'), { recursive: true });
    expectOneLineError(cli(['runtime', 'connect', '--cloud', 'http://127.0.0.1:9', '--enroll-token-file', missing, '--state-dir', await createTempDir('rt')]), 'TOKEN_FILE_UNREADABLE', missing);
  });
});
