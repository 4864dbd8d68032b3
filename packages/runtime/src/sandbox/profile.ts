import { canonicalizeToBytes, computeSha256Digest } from '@lumenflow/protocol';
import { EGRESS_FORWARDER_NAME, EGRESS_MOUNT, EGRESS_PROXY_ENV, EGRESS_PROXY_PORT } from '../egress/forwarder.js';

/**
 * An agent process's network: `none`, the host's, or only the runtime's egress
 * proxy, whose directory (socket and forwarder) the sandbox binds read-only.
 */
export type SandboxNetwork = 'none' | 'host' | { readonly proxyDir: string };

/** Bounds on one sandboxed process tree. Wall time is the runtime's tool timeout, applied outside. */
export interface SandboxLimits {
  /** CPU seconds per process (RLIMIT_CPU); SIGXCPU at the bound, SIGKILL five seconds later. */
  readonly cpuSeconds: number;
  /** Private writable memory per process, in bytes (RLIMIT_DATA). */
  readonly memoryBytes: number;
  /** Largest file a process may write, in bytes (RLIMIT_FSIZE). */
  readonly fileSizeBytes: number;
  /** Processes and threads in the sandbox at once (a pids cgroup when the runtime can make one, else RLIMIT_NPROC). */
  readonly processes: number;
  /** Output kept per stream; more stops the process. */
  readonly outputBytes: number;
  /** Size of the private /tmp and HOME. */
  readonly tmpBytes: number;
}

export const DEFAULT_SANDBOX_LIMITS: SandboxLimits = Object.freeze({
  cpuSeconds: 600,
  memoryBytes: 4 * 1024 ** 3,
  fileSizeBytes: 1024 ** 3,
  processes: 512,
  outputBytes: 16 * 1024 ** 2,
  tmpBytes: 256 * 1024 ** 2,
});

/**
 * What a bubblewrap sandbox shows a tool process. The workspace is the only
 * writable host path (its `.git` stays read-only); everything else is one of:
 * a read-only bind of a system directory, a symlink, or absent.
 */
export interface BubblewrapProfile {
  /** Host directories bound read-only at the same path (system and toolchain directories). */
  readonly readOnly: readonly string[];
  /** Top-level symlinks recreated inside (`/bin` → `usr/bin` on merged-/usr systems). */
  readonly symlinks: ReadonlyArray<readonly [link: string, target: string]>;
  /** Paths under a read-only bind that are hidden: key files, data and evidence directories, /etc/shadow. */
  readonly masked: ReadonlyArray<{ path: string; type: 'file' | 'dir' }>;
  /** PATH inside the sandbox. */
  readonly path: string;
  readonly limits: SandboxLimits;
  /** How the process count is bounded: a pids cgroup, or only RLIMIT_NPROC (which does not bind uid 0). */
  readonly processBound: 'cgroup' | 'rlimit';
}

/** uid and gid of the process inside the sandbox: an ordinary user, whatever the runtime runs as. */
export const SANDBOX_UID = 1000;
export const SANDBOX_HOME = '/home/sandbox';

/** The sandbox's fixed parts, as the profile digest covers them. */
const FIXED = Object.freeze({
  namespaces: ['user', 'pid', 'ipc', 'uts', 'net', 'cgroup', 'mount'],
  network: 'none',
  writable: ['<workspace>'],
  readOnlyInWorkspace: ['.git'],
  tmp: ['/tmp', '/home'],
  proc: 'own pid namespace',
  capabilities: 'none',
  dieWithParent: true,
  newSession: true,
  uid: SANDBOX_UID,
  environment: ['PATH', 'HOME', 'LC_ALL', 'NO_COLOR', 'TMPDIR', 'GIT_*'],
  // An agent process (docs/agents.md): the workspace is read-only to it, and its
  // own directory (MCP config, bridge, socket) is the only writable host path.
  // Its network is none unless its local entry says `host` (the host's network
  // namespace, shared with that process only) or names an allow-list (its own
  // namespace, whose only way out is the runtime's CONNECT proxy through a
  // forwarder on its loopback); node-session.json records which.
  agentProcess: {
    workspace: 'read-only',
    writable: ['<agent dir>'],
    network: {
      default: 'none',
      allowed: ['none', 'host', 'allow-list'],
      allowList: { proxyDir: EGRESS_MOUNT, readOnly: true, forwarder: `node ${EGRESS_MOUNT}/${EGRESS_FORWARDER_NAME}`, listens: `127.0.0.1:${EGRESS_PROXY_PORT}`, environment: Object.keys(EGRESS_PROXY_ENV).sort() },
    },
    environment: ['LUMENFLOW_MCP_CONFIG'],
  },
});

/** The profile as recorded: what the digest is over. Host-independent except for the bound directories. */
export function describeProfile(profile: BubblewrapProfile): Record<string, unknown> {
  return {
    schemaVersion: 1,
    kind: 'bubblewrap',
    ...FIXED,
    readOnly: [...profile.readOnly],
    symlinks: profile.symlinks.map(([link, target]) => [link, target]),
    masked: profile.masked.map((m) => ({ ...m })),
    path: profile.path,
    limits: { ...profile.limits },
    processBound: profile.processBound,
  };
}

/** `sha256:` of the RFC 8785 form of {@link describeProfile}. */
export function computeProfileDigest(profile: BubblewrapProfile): string {
  return computeSha256Digest(canonicalizeToBytes(describeProfile(profile) as never));
}

/** One sandboxed invocation. */
export interface SandboxInvocation {
  workspaceDir: string;
  program: string;
  args: readonly string[];
  /** Variables set inside (nothing else is inherited). */
  env: Readonly<Record<string, string>>;
  /** For an agent process: its own directory, the only writable path; the workspace is then read-only. */
  agentDir?: string;
  /** For an agent process only: `host` shares the host's network namespace with it; `{ proxyDir }` gives it the egress proxy (default `none`). */
  network?: SandboxNetwork;
}

/**
 * The bubblewrap arguments for one invocation, then the program run under
 * prlimit. Pure: the same profile and invocation give the same argv.
 */
export function buildBwrapArgs(profile: BubblewrapProfile, call: SandboxInvocation): string[] {
  const { limits } = profile;
  const args = ['--unshare-all'];
  // Only an agent process may keep the host's network, and only when its local entry says so.
  if (call.agentDir !== undefined && call.network === 'host') args.push('--share-net');
  const proxyDir = call.agentDir !== undefined && typeof call.network === 'object' ? call.network.proxyDir : undefined;
  args.push('--die-with-parent', '--new-session', '--cap-drop', 'ALL', '--hostname', 'sandbox');
  args.push('--uid', String(SANDBOX_UID), '--gid', String(SANDBOX_UID));
  for (const dir of profile.readOnly) args.push('--ro-bind', dir, dir);
  for (const [link, target] of profile.symlinks) args.push('--symlink', target, link);
  for (const masked of profile.masked) {
    if (masked.type === 'file') args.push('--ro-bind', '/dev/null', masked.path);
    else args.push('--tmpfs', masked.path, '--remount-ro', masked.path);
  }
  args.push('--proc', '/proc', '--dev', '/dev');
  args.push('--size', String(limits.tmpBytes), '--tmpfs', '/tmp');
  args.push('--size', String(limits.tmpBytes), '--tmpfs', '/home', '--dir', SANDBOX_HOME);
  if (call.agentDir === undefined) {
    args.push('--bind', call.workspaceDir, call.workspaceDir);
    args.push('--ro-bind-try', `${call.workspaceDir}/.git`, `${call.workspaceDir}/.git`);
  } else {
    args.push('--ro-bind', call.workspaceDir, call.workspaceDir);
    args.push('--bind', call.agentDir, call.agentDir);
    if (proxyDir !== undefined) args.push('--ro-bind', proxyDir, EGRESS_MOUNT);
  }
  // The root of the sandbox is a tmpfs of its own; nothing may be written there.
  args.push('--remount-ro', '/');
  args.push('--chdir', call.workspaceDir, '--clearenv');
  const env: Record<string, string> = { ...call.env, ...(proxyDir === undefined ? {} : EGRESS_PROXY_ENV), PATH: profile.path, HOME: SANDBOX_HOME, TMPDIR: '/tmp' };
  for (const name of Object.keys(env).sort()) args.push('--setenv', name, env[name] as string);
  args.push(
    '--',
    'prlimit',
    `--cpu=${limits.cpuSeconds}:${limits.cpuSeconds + 5}`,
    `--data=${limits.memoryBytes}`,
    `--fsize=${limits.fileSizeBytes}`,
    `--nproc=${limits.processes}`,
    '--core=0',
    '--',
    // With an allow-list the forwarder starts first, then the agent as its child.
    ...(proxyDir === undefined ? [] : ['node', `${EGRESS_MOUNT}/${EGRESS_FORWARDER_NAME}`, '--']),
    call.program,
    ...call.args,
  );
  return args;
}
