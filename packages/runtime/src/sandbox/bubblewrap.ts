import { accessSync, constants, lstatSync, mkdtempSync, readlinkSync, realpathSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { RuntimeError } from '../errors.js';
import { runProcess } from '../process.js';
import { canMakePidsCgroups, openPidsCgroup } from './cgroup.js';
import { DEFAULT_SANDBOX_LIMITS, buildBwrapArgs, computeProfileDigest } from './profile.js';
import type { BubblewrapProfile, SandboxLimits } from './profile.js';
import type { Sandbox, SandboxedResult } from './sandbox.js';
import { omitUndefined } from '@lumenflow/protocol';

/** System directories a tool may read (bound read-only when they are directories, recreated when they are symlinks). */
const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc'];
/** Files and directories under /etc that a tool never needs and must not read. */
const SYSTEM_SECRETS = ['/etc/shadow', '/etc/gshadow', '/etc/shadow-', '/etc/gshadow-', '/etc/ssh', '/etc/ssl/private', '/etc/sudoers', '/etc/sudoers.d'];

export interface BubblewrapOptions {
  /** Host paths that must not be visible inside at all: key files, data directories, evidence output. */
  hide?: readonly string[];
  limits?: Partial<SandboxLimits>;
  /** The bwrap program (default: `bwrap` on PATH, then /usr/bin and /usr/local/bin). */
  bwrap?: string;
}

/** What the probe of this host found: the bwrap to run, its version, and how the process count can be bounded. */
interface HostProbe {
  bwrap: string;
  version: string;
  processBound: 'cgroup' | 'rlimit';
}

// One probe per bwrap and process bound per process: the host does not change between sessions.
const probes = new Map<string, Promise<HostProbe>>();

/**
 * Checks once per process, by running `true` in a sandbox, that this host can
 * make one; later calls share the answer. Starting it early lets the checks'
 * processes run while the caller does other work.
 *
 * @throws {RuntimeError} SANDBOX_UNAVAILABLE when it cannot, with the reason.
 */
export function probeBubblewrap(options: Pick<BubblewrapOptions, 'bwrap' | 'limits'> = {}): Promise<HostProbe> {
  const limits: SandboxLimits = { ...DEFAULT_SANDBOX_LIMITS, ...options.limits };
  const key = `${options.bwrap ?? ''}\0${limits.processes}`;
  let probe = probes.get(key);
  if (probe === undefined) {
    probe = runHostProbe(options.bwrap, limits);
    probes.set(key, probe);
    probe.catch(() => probes.delete(key));
  }
  return probe;
}

async function runHostProbe(bwrapOption: string | undefined, limits: SandboxLimits): Promise<HostProbe> {
  if (process.platform !== 'linux') throw unavailable(`bubblewrap needs Linux, this is ${process.platform}`);
  // Looked up without waiting, so `bwrap --version` starts before the caller's next step.
  const bwrap = bwrapOption ?? findProgram('bwrap');
  if (bwrap === undefined || !isExecutable(bwrap)) throw unavailable('bwrap is not installed (run `pnpm setup:system`, or apt-get install bubblewrap)');
  // The version and the probe run side by side; a missing version is still reported first.
  const answer = runProcess(bwrap, ['--version'], { cwd: '/', env: {} }).catch(() => undefined);
  // Up to the probe's own start the checks are a few synchronous system calls, so that
  // it does not wait on the event loop at every step while a run starts around it.
  const processBound = canMakePidsCgroups() ? 'cgroup' : 'rlimit';
  // Probe: a sandbox that cannot start `true` here will not start a test suite either.
  const profile = buildProfile(limits, [], processBound);
  const scratch = mkdtempSync(join(tmpdir(), 'lumenflow-probe-'));
  let probe: { exitCode: number; stderr: string };
  try {
    probe = await runInProfile(bwrap, profile, 'true', [], { workspaceDir: scratch, env: {} }).catch((error: unknown) => ({ exitCode: -1, stdout: '', stderr: String(error) }));
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  const version = (await answer)?.stdout.trim().replace(/^bubblewrap\s+/, '');
  if (version === undefined || version === '') throw unavailable(`${bwrap} --version did not answer`);
  if (probe.exitCode !== 0) throw unavailable(`bwrap cannot make the sandbox here: ${firstLine(probe.stderr) || `exit ${probe.exitCode}`}`);
  return { bwrap, version, processBound };
}

/**
 * Finds bubblewrap, checks that this host can make the sandbox (once per
 * process, {@link probeBubblewrap}) and builds the profile.
 *
 * @throws {RuntimeError} SANDBOX_UNAVAILABLE when it cannot, with the reason.
 */
export async function createBubblewrapSandbox(options: BubblewrapOptions = {}): Promise<Sandbox> {
  const { bwrap, version, processBound } = await probeBubblewrap(options);
  const limits: SandboxLimits = { ...DEFAULT_SANDBOX_LIMITS, ...options.limits };
  const profile = buildProfile(limits, options.hide ?? [], processBound);
  const profileDigest = computeProfileDigest(profile);
  const run: Sandbox['run'] = (program, args, opts) => runInProfile(bwrap, profile, program, args, opts);
  return { info: { kind: 'bubblewrap', version, profileDigest }, callInfo: { kind: 'bubblewrap', profileDigest }, run };
}

async function runInProfile(bwrap: string, profile: BubblewrapProfile, ...[program, args, opts]: Parameters<Sandbox['run']>): ReturnType<Sandbox['run']> {
  const { limits } = profile;
  const bwrapArgs = buildBwrapArgs(profile, {
    workspaceDir: opts.workspaceDir,
    program,
    args,
    env: opts.env,
    ...(opts.agentDir === undefined ? {} : { agentDir: opts.agentDir, ...omitUndefined({ network: opts.network }) }),
  });
  const cgroup = profile.processBound === 'cgroup' ? await openPidsCgroup(limits.processes) : undefined;
  if (profile.processBound === 'cgroup' && cgroup === undefined) throw new RuntimeError('SANDBOX_FAILED', 'cannot make the pids cgroup that bounds the tool process');
  // The wrapper joins the cgroup, then becomes bwrap: nothing runs outside the bound first.
  const [command, argv] =
    cgroup === undefined ? [bwrap, bwrapArgs] : ['/bin/sh', ['-c', 'echo $$ > "$0" && exec "$@"', cgroup.procsFile, bwrap, ...bwrapArgs]];
  try {
    const result = await runProcess(command, argv, {
      cwd: opts.workspaceDir,
      env: {},
      maxOutputBytes: limits.outputBytes,
      ...omitUndefined({ signal: opts.signal }),
    });
    return toSandboxedResult(result);
  } catch (error) {
    if ((error as { name?: unknown }).name === 'AbortError') throw error;
    throw new RuntimeError('SANDBOX_FAILED', `cannot start ${program} in the sandbox`, { cause: error });
  } finally {
    await cgroup?.dispose();
  }
}

function toSandboxedResult(result: { exitCode: number; stdout: string; stderr: string; outputLimited?: true }): SandboxedResult {
  const base = { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
  if (result.outputLimited === true) return { ...base, limit: 'output' };
  // bwrap passes a child's death by signal on as 128 + n: SIGXCPU is 24, SIGXFSZ 25.
  if (result.exitCode === 128 + 24) return { ...base, limit: 'cpu-time' };
  if (result.exitCode === 128 + 25) return { ...base, limit: 'file-size' };
  return base;
}

// Synchronous: a few dozen lstat and realpath calls on system paths, made once per sandbox.
function buildProfile(limits: SandboxLimits, hide: readonly string[], processBound: 'cgroup' | 'rlimit'): BubblewrapProfile {
  const readOnly: string[] = [];
  const symlinks: Array<[string, string]> = [];
  for (const dir of SYSTEM_DIRS) {
    const info = lstatSync(dir, { throwIfNoEntry: false });
    if (info?.isSymbolicLink()) symlinks.push([dir, readlinkSync(dir)]);
    else if (info?.isDirectory()) readOnly.push(dir);
  }
  // Node itself, where it is not a system package (nvm, a tarball under /opt or HOME).
  const pathDirs = ['/usr/local/bin', '/usr/bin', '/bin'];
  const nodeBin = dirname(realpathSync(process.execPath));
  if (!isUnder(nodeBin, readOnly)) {
    readOnly.push(dirname(nodeBin));
  }
  if (!pathDirs.includes(nodeBin)) pathDirs.unshift(nodeBin);
  const masked: Array<{ path: string; type: 'file' | 'dir' }> = [];
  for (const candidate of [...SYSTEM_SECRETS, ...hide]) {
    if (!isAbsolute(candidate)) continue;
    let real: string;
    try {
      real = realpathSync(candidate);
    } catch {
      continue;
    }
    if (!isUnder(real, readOnly)) continue;
    const info = lstatSync(real);
    if (!masked.some((m) => m.path === real)) masked.push({ path: real, type: info.isDirectory() ? 'dir' : 'file' });
  }
  masked.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { readOnly: readOnly.sort(), symlinks, masked, path: pathDirs.join(':'), limits, processBound };
}

function isUnder(path: string, dirs: readonly string[]): boolean {
  return dirs.some((dir) => path === dir || path.startsWith(`${dir}/`));
}

function findProgram(name: string): string | undefined {
  const entries = (process.env['PATH'] ?? '').split(delimiter).filter((entry) => isAbsolute(entry));
  for (const dir of [...entries, '/usr/bin', '/bin', '/usr/local/bin']) {
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}

function unavailable(reason: string): RuntimeError {
  return new RuntimeError('SANDBOX_UNAVAILABLE', `no sandbox for tool processes: ${reason}; set the runtime's sandbox to "off" to run without one (recorded in the Proof)`);
}
