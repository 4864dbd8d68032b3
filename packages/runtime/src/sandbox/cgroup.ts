import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { readFile, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A pids cgroup for one sandboxed process tree. */
export interface PidsCgroup {
  /** The file a process writes its pid to, to join. */
  readonly procsFile: string;
  /** Kills whatever is left in it and removes it. Safe to call twice. */
  dispose(): Promise<void>;
}

let counter = 0;

/**
 * Makes a child pids cgroup of this process's own, bounded to `max` tasks, or
 * returns undefined when this host does not let the runtime make one (not
 * root, no pids controller, no delegation). RLIMIT_NPROC does not bind uid 0,
 * so for a runtime running as root this is what bounds a fork bomb.
 */
export async function openPidsCgroup(max: number): Promise<PidsCgroup | undefined> {
  const dir = makePidsCgroup(max);
  if (dir === undefined) return undefined;
  let disposed = false;
  return {
    procsFile: join(dir, 'cgroup.procs'),
    dispose: async () => {
      if (disposed) return;
      disposed = true;
      // Mostly the tree has exited and the cgroup is empty: removed at once.
      try {
        rmdirSync(dir);
        return;
      } catch {
        // Something is left in it: killed below.
      }
      for (let attempt = 0; attempt < 50; attempt += 1) {
        const pids = (await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => ''))
          .split('\n')
          .filter((line) => /^\d+$/.test(line));
        for (const pid of pids) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // Gone already.
          }
        }
        const removed = await rmdir(dir).then(
          () => true,
          () => false,
        );
        if (removed) return;
        await sleep(20);
      }
    },
  };
}

/**
 * Whether this host lets the runtime make pids cgroups ({@link openPidsCgroup}):
 * makes one and removes it at once.
 */
export function canMakePidsCgroups(): boolean {
  const dir = makePidsCgroup(1);
  if (dir === undefined) return false;
  try {
    rmdirSync(dir);
  } catch {
    // An empty cgroup that cannot be removed is still one that could be made.
  }
  return true;
}

// Made with synchronous calls: a few small writes to the cgroup file system, which
// would otherwise each wait for the event loop when a run starts and it is busiest.
function makePidsCgroup(max: number): string | undefined {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return undefined;
  hierarchy ??= { dir: findPidsHierarchy() };
  const base = hierarchy.dir;
  if (base === undefined) return undefined;
  const dir = join(base, `lumenflow-${process.pid}-${++counter}`);
  try {
    mkdirSync(dir);
  } catch {
    return undefined;
  }
  try {
    writeFileSync(join(dir, 'pids.max'), String(max));
  } catch {
    try {
      rmdirSync(dir);
    } catch {
      // Left for the host to remove: it holds no process.
    }
    return undefined;
  }
  return dir;
}

// This process's place in the hierarchy does not change while it runs.
let hierarchy: { dir: string | undefined } | undefined;

// cgroup v1: /sys/fs/cgroup/pids/<own path>; v2: /sys/fs/cgroup/<own path> with pids enabled for children.
function findPidsHierarchy(): string | undefined {
  let own: string;
  try {
    own = readFileSync('/proc/self/cgroup', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of own.split('\n')) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    if (controllers === undefined || path === undefined) continue;
    if (controllers.split(',').includes('pids')) return join('/sys/fs/cgroup/pids', path);
  }
  const read = (file: string): string => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return '';
    }
  };
  for (const line of own.split('\n')) {
    const match = /^0::(.*)$/.exec(line);
    if (match?.[1] === undefined) continue;
    const dir = join('/sys/fs/cgroup', match[1]);
    const control = join(dir, 'cgroup.subtree_control');
    if (read(control).split(/\s+/).includes('pids')) return dir;
    // Enabling a controller for children is refused while this cgroup holds processes; then there is none.
    try {
      writeFileSync(control, '+pids');
    } catch {
      // Refused: checked below.
    }
    if (read(control).split(/\s+/).includes('pids')) return dir;
  }
  return undefined;
}
