import { lstatSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '@lumenflow/protocol';
import { RuntimeError } from './errors.js';
import { runProcess } from './process.js';
import { sameEntry } from './sandbox/snapshot.js';
import type { Snapshot } from './sandbox/snapshot.js';

/** The identity the runtime commits the baseline as; fixed so the commit id is reproducible. */
export const BASELINE_AUTHOR = { name: 'LumenFlow Runtime', email: 'runtime@lumenflow.invalid' } as const;

/** A fresh git working copy of the fixture at a known baseline commit. */
export interface Workspace {
  readonly dir: string;
  readonly baselineCommit: string;
  /** Removes the temporary directory. Safe to call twice. */
  dispose(): Promise<void>;
}

/**
 * An environment for git that ignores the user's and the system's git config
 * (hooks, signing, templates, aliases), so the runtime's git behaves the same
 * on every machine and commit ids depend only on content and the date given.
 */
export function buildGitEnv(at?: Date): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'] ?? '',
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
  };
  if (at !== undefined) {
    const stamp = `${Math.floor(at.getTime() / 1000)} +0000`;
    Object.assign(env, {
      GIT_AUTHOR_NAME: BASELINE_AUTHOR.name,
      GIT_AUTHOR_EMAIL: BASELINE_AUTHOR.email,
      GIT_AUTHOR_DATE: stamp,
      GIT_COMMITTER_NAME: BASELINE_AUTHOR.name,
      GIT_COMMITTER_EMAIL: BASELINE_AUTHOR.email,
      GIT_COMMITTER_DATE: stamp,
    });
  }
  return env;
}

/**
 * The environment of a git a tool call runs, inside the sandbox: no system or
 * global config, no optional locks (it must not write `.git`, which is
 * read-only there), and hooks and fsmonitor off whatever the repository's
 * config says. (textconv and external diff are off by the command's own flags.)
 */
export const TOOL_GIT_ENV: Readonly<Record<string, string>> = Object.freeze({
  LC_ALL: 'C',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_TERMINAL_PROMPT: '0',
  GIT_OPTIONAL_LOCKS: '0',
  GIT_CONFIG_COUNT: '3',
  GIT_CONFIG_KEY_0: 'core.hooksPath',
  GIT_CONFIG_VALUE_0: '/dev/null',
  GIT_CONFIG_KEY_1: 'core.fsmonitor',
  GIT_CONFIG_VALUE_1: 'false',
  GIT_CONFIG_KEY_2: 'diff.external',
  GIT_CONFIG_VALUE_2: '',
});

/**
 * Runs git for the runtime's own bookkeeping (not an agent tool call).
 *
 * @throws {RuntimeError} GIT_FAILED on a non-zero exit or when git cannot start.
 */
export async function runGit(dir: string, args: readonly string[], at?: Date): Promise<string> {
  let result;
  try {
    // No background upkeep either: a commit would otherwise start `git maintenance run --auto`.
    result = await runProcess('git', ['-c', 'core.autocrlf=false', '-c', 'commit.gpgsign=false', '-c', 'maintenance.auto=false', ...args], { cwd: dir, env: buildGitEnv(at) });
  } catch (cause) {
    throw new RuntimeError('GIT_FAILED', `cannot run git ${args[0] ?? ''}`, { cause });
  }
  if (result.exitCode !== 0) {
    throw new RuntimeError('GIT_FAILED', `git ${args[0] ?? ''} exited ${result.exitCode}: ${result.stderr.trim().split('\n')[0] ?? ''}`);
  }
  return result.stdout;
}

/**
 * A new, empty temporary workspace directory and the function that removes it
 * (safe to call twice).
 *
 * @throws {RuntimeError} WORKSPACE_FAILED when it cannot be created.
 */
export async function createWorkspaceDir(tmpRoot?: string): Promise<{ dir: string; dispose: () => Promise<void> }> {
  let dir: string;
  try {
    dir = mkdtempSync(join(tmpRoot ?? tmpdir(), 'lumenflow-ws-'));
  } catch (cause) {
    throw new RuntimeError('WORKSPACE_FAILED', 'cannot create a temporary workspace', { cause });
  }
  return { dir, dispose: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * The date of a fixture's baseline commit. Fixed, not the clock: the fixture
 * stands for a repository's base branch, whose commit does not change with the
 * time it is checked out. So the baseline id is a function of the fixture's
 * content alone, and Cloud can rebuild the same base to apply the approved
 * patch on (docs/pull-requests.md).
 */
export const FIXTURE_BASELINE_DATE = new Date('2026-01-01T00:00:00.000Z');

/**
 * Copies the fixture into a new temporary directory, makes it a git repository
 * and commits it as the baseline, dated {@link FIXTURE_BASELINE_DATE} (`clock` is kept for callers; it no longer dates the commit).
 *
 * @throws {RuntimeError} FIXTURE_MISSING when `fixtureDir` is not a directory;
 *   WORKSPACE_FAILED or GIT_FAILED when the copy or the commit fails.
 */
export async function prepareWorkspace(opts: { fixtureDir: string; clock: Clock; tmpRoot?: string }): Promise<Workspace> {
  // The first steps are a few system calls made at once: a copy made ahead (RuntimeOptions.fixtureCopy)
  // starts while the CLI is busiest, and each await would wait for its event loop.
  const info = lstatSync(opts.fixtureDir, { throwIfNoEntry: false });
  if (!info?.isDirectory()) throw new RuntimeError('FIXTURE_MISSING', `fixture directory ${opts.fixtureDir} does not exist`);
  const { dir, dispose } = await createWorkspaceDir(opts.tmpRoot);
  try {
    const at = FIXTURE_BASELINE_DATE;
    // No template: no sample hooks or other files in .git for every snapshot to read.
    initRepository(dir);
    await copyTree(opts.fixtureDir, dir);
    await runGit(dir, ['add', '--all']);
    await runGit(dir, ['commit', '--quiet', '--no-verify', '-m', 'baseline'], at);
    // A fresh repository has a loose ref; reading it saves a git process on every run.
    const baselineCommit = (await readFile(join(dir, '.git', 'refs', 'heads', 'main'), 'utf8')).trim();
    if (!/^[0-9a-f]{40}$/.test(baselineCommit)) throw new RuntimeError('GIT_FAILED', 'the baseline commit id is not a 40-hex sha');
    return { dir, baselineCommit, dispose };
  } catch (cause) {
    await dispose();
    if (cause instanceof RuntimeError) throw cause;
    throw new RuntimeError('WORKSPACE_FAILED', `cannot prepare the workspace from ${opts.fixtureDir}`, { cause });
  }
}

/** The configuration `git init` writes for a repository with a working tree on Linux. */
const INIT_CONFIG = '[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n\tlogallrefupdates = true\n';

/**
 * Makes `dir` an empty git repository on branch `main`: what
 * `git init --template= --initial-branch=main` makes (gitrepository-layout),
 * written directly, which spares a git process on every workspace. git reads
 * it as its own (packages/runtime/test/workspace.test.ts compares the two).
 */
export function initRepository(dir: string): void {
  const gitDir = join(dir, '.git');
  mkdirSync(gitDir, { mode: 0o755 });
  for (const sub of ['objects/info', 'objects/pack', 'refs/heads', 'refs/tags']) mkdirSync(join(gitDir, sub), { recursive: true, mode: 0o755 });
  writeFileSync(join(gitDir, 'HEAD'), 'ref: refs/heads/main\n', { mode: 0o644, flag: 'wx' });
  writeFileSync(join(gitDir, 'config'), INIT_CONFIG, { mode: 0o644, flag: 'wx' });
}

/**
 * Marks every new, not ignored file as intent-to-add, so that the diff
 * against the baseline shows files a tool call created, not only the ones it
 * changed. Runs as the runtime's own bookkeeping, outside the sandbox, where
 * `.git` is writable.
 */
export async function markNewFiles(dir: string): Promise<void> {
  const listed = await runGit(dir, ['ls-files', '-z', '--others', '--exclude-standard']);
  const paths = listed.split('\0').filter((p) => p !== '');
  for (let i = 0; i < paths.length; i += 500) await runGit(dir, ['add', '--intent-to-add', '--', ...paths.slice(i, i + 500)]);
}

/**
 * Whether `git ls-files --others --exclude-standard` could list a file in a
 * workspace now seen as `now`, which was seen as `baseline` when it held its
 * baseline commit and nothing untracked that git does not ignore (a fresh
 * checkout, or a copy after `git add --all`). Pure and conservative: any path
 * outside `.git` that is new since the baseline, any change to a `.gitignore`
 * (it may stop ignoring a file) or to `.git/info` (its `exclude`) says it could.
 */
export function mayHoldNewFiles(baseline: Snapshot, now: Snapshot): boolean {
  for (const [path, entry] of now) {
    const was = baseline.get(path);
    if (was === undefined ? !isUnderGit(path) || decidesIgnored(path) : decidesIgnored(path) && !sameEntry(was, entry)) return true;
  }
  for (const path of baseline.keys()) if (decidesIgnored(path) && !now.has(path)) return true;
  return false;
}

function isUnderGit(path: string): boolean {
  return path === '.git' || path.startsWith('.git/');
}

// A file that can change which files git ignores: a .gitignore anywhere, or .git/info (its exclude).
function decidesIgnored(path: string): boolean {
  return path === '.gitignore' || path.endsWith('/.gitignore') || path === '.git/info' || path.startsWith('.git/info/');
}

/** True when the working tree equals the baseline commit: nothing modified, added or deleted. */
export async function isWorkspaceUnchanged(workspace: Workspace): Promise<boolean> {
  const status = await runGit(workspace.dir, ['status', '--porcelain', '--untracked-files=all']);
  return status.trim() === '';
}

// Regular files only, with a fixed mode: the baseline must
// not depend on the checkout's umask or on symlinks that point outside it.
// The entries of a directory are copied side by side, a bounded number at a time.
async function copyTree(from: string, to: string): Promise<void> {
  const entries = (await readdir(from, { withFileTypes: true })).filter((entry) => !isLeftOut(entry.name));
  for (let i = 0; i < entries.length; i += COPY_PARALLEL) {
    await Promise.all(
      entries.slice(i, i + COPY_PARALLEL).map(async (entry) => {
        const source = join(from, entry.name);
        const target = join(to, entry.name);
        if (entry.isDirectory()) {
          await mkdir(target, { mode: 0o755 });
          await copyTree(source, target);
        } else if (entry.isFile()) {
          await writeFile(target, await readFile(source), { mode: 0o644 });
        }
      }),
    );
  }
}

/** Entries of one directory a copy reads and writes at once. */
const COPY_PARALLEL = 16;

// .lumenflow holds the runtime's keys and state when the workspace is the user's own checkout.
function isLeftOut(name: string): boolean {
  return name === '.git' || name === 'node_modules' || name === '.lumenflow';
}

/**
 * The files {@link prepareWorkspace} copies from a fixture directory (regular
 * files, not under `.git`, `node_modules` or `.lumenflow`, no links), as
 * `/`-separated relative paths in sorted order.
 */
export async function listFixtureFiles(dir: string, prefix = ''): Promise<string[]> {
  const entries = (await readdir(join(dir, prefix), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: string[] = [];
  for (const entry of entries) {
    if (isLeftOut(entry.name)) continue;
    const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) files.push(...(await listFixtureFiles(dir, path)));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}
