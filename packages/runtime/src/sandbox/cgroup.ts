import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
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
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return undefined;
  const base = await findPidsHierarchy().catch(() => undefined);
  if (base === undefined) return undefined;
  const dir = join(base, `lumenflow-${process.pid}-${++counter}`);
  try {
    await mkdir(dir);
  } catch {
    return undefined;
  }
  try {
    await writeFile(join(dir, 'pids.max'), String(max));
  } catch {
    await rmdir(dir).catch(() => undefined);
    return undefined;
  }
  let disposed = false;
  return {
    procsFile: join(dir, 'cgroup.procs'),
    dispose: async () => {
      if (disposed) return;
      disposed = true;
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

// cgroup v1: /sys/fs/cgroup/pids/<own path>; v2: /sys/fs/cgroup/<own path> with pids enabled for children.
async function findPidsHierarchy(): Promise<string | undefined> {
  const own = await readFile('/proc/self/cgroup', 'utf8');
  for (const line of own.split('\n')) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    if (controllers === undefined || path === undefined) continue;
    if (controllers.split(',').includes('pids')) return join('/sys/fs/cgroup/pids', path);
  }
  for (const line of own.split('\n')) {
    const match = /^0::(.*)$/.exec(line);
    if (match?.[1] === undefined) continue;
    const dir = join('/sys/fs/cgroup', match[1]);
    const enabled = await readFile(join(dir, 'cgroup.subtree_control'), 'utf8').catch(() => '');
    if (enabled.split(/\s+/).includes('pids')) return dir;
    // Enabling a controller for children is refused while this cgroup holds processes; then there is none.
    await writeFile(join(dir, 'cgroup.subtree_control'), '+pids').catch(() => undefined);
    const after = await readFile(join(dir, 'cgroup.subtree_control'), 'utf8').catch(() => '');
    if (after.split(/\s+/).includes('pids')) return dir;
  }
  return undefined;
}
