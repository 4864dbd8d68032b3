import { describe, expect, test } from 'vitest';
import { DEFAULT_SANDBOX_LIMITS, buildBwrapArgs, computeProfileDigest } from '../src/sandbox/profile.js';
import type { BubblewrapProfile } from '../src/sandbox/profile.js';

const profile: BubblewrapProfile = {
  readOnly: ['/etc', '/usr'],
  symlinks: [['/bin', 'usr/bin']],
  masked: [{ path: '/etc/shadow', type: 'file' }, { path: '/etc/ssh', type: 'dir' }],
  path: '/usr/local/bin:/usr/bin:/bin',
  limits: DEFAULT_SANDBOX_LIMITS,
  processBound: 'cgroup',
};

describe('the bubblewrap profile', () => {
  const args = buildBwrapArgs(profile, { workspaceDir: '/tmp/ws', program: 'node', args: ['--test'], env: { LC_ALL: 'C', PATH: '/evil' } });
  const pairAt = (flag: string, value: string): boolean => args.some((a, i) => a === flag && args[i + 1] === value);

  test('new namespaces, no capabilities, dies with its parent, new session', () => {
    for (const flag of ['--unshare-all', '--die-with-parent', '--new-session', '--clearenv']) expect(args).toContain(flag);
    expect(pairAt('--cap-drop', 'ALL')).toBe(true);
    expect(args).not.toContain('--share-net');
  });

  test('the workspace is the only writable bind, its .git read-only after it, the root read-only', () => {
    const binds = args.flatMap((a, i) => (a === '--bind' ? [args[i + 1]] : []));
    expect(binds).toEqual(['/tmp/ws']);
    expect(args.indexOf('--ro-bind-try')).toBeGreaterThan(args.indexOf('--bind'));
    expect(args[args.indexOf('--ro-bind-try') + 1]).toBe('/tmp/ws/.git');
    expect(pairAt('--remount-ro', '/')).toBe(true);
    expect(args.indexOf('--bind')).toBeGreaterThan(args.lastIndexOf('--tmpfs'));
  });

  test('an agent process gets the workspace read-only and its own directory as the only writable bind', () => {
    const agent = buildBwrapArgs(profile, { workspaceDir: '/tmp/ws', program: 'node', args: ['agent.js'], env: {}, agentDir: '/tmp/agent' });
    const flagged = (flag: string): string[] => agent.flatMap((a, i) => (a === flag ? [agent[i + 1] as string] : []));
    expect(flagged('--bind')).toEqual(['/tmp/agent']);
    expect(flagged('--ro-bind')).toContain('/tmp/ws');
    expect(agent.indexOf('/tmp/ws')).toBeGreaterThan(agent.lastIndexOf('--tmpfs'));
    expect(agent).not.toContain('--share-net');
  });

  test("only an agent process whose entry says host keeps the host's network; a tool process never does", () => {
    const host = buildBwrapArgs(profile, { workspaceDir: '/tmp/ws', program: 'node', args: ['agent.js'], env: {}, agentDir: '/tmp/agent', network: 'host' });
    expect(host.slice(0, 2)).toEqual(['--unshare-all', '--share-net']);
    const none = buildBwrapArgs(profile, { workspaceDir: '/tmp/ws', program: 'node', args: ['agent.js'], env: {}, agentDir: '/tmp/agent', network: 'none' });
    expect(none).not.toContain('--share-net');
    const tool = buildBwrapArgs(profile, { workspaceDir: '/tmp/ws', program: 'node', args: ['--test'], env: {}, network: 'host' });
    expect(tool).not.toContain('--share-net');
  });

  test('an agent with an allow-list keeps its own network namespace, sees the egress directory read-only and starts through the forwarder; a tool process gets none of it', () => {
    const agent = buildBwrapArgs(profile, { workspaceDir: '/tmp/ws', program: 'claude', args: ['--print'], env: { HTTPS_PROXY: 'http://evil:1' }, agentDir: '/tmp/agent', network: { proxyDir: '/tmp/egress' } });
    expect(agent).not.toContain('--share-net');
    const roBind = agent.findIndex((a, i) => a === '--ro-bind' && agent[i + 1] === '/tmp/egress');
    expect(agent[roBind + 2]).toBe('/run/lumenflow-egress');
    expect(roBind).toBeLessThan(agent.lastIndexOf('--remount-ro'));
    expect(agent.flatMap((a, i) => (a === '--bind' ? [agent[i + 1]] : []))).toEqual(['/tmp/agent']);
    const env = (name: string): string | undefined => agent[agent.findIndex((a, i) => a === '--setenv' && agent[i + 1] === name) + 2];
    for (const name of ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy']) expect(env(name)).toBe('http://127.0.0.1:3128');
    expect(env('NO_PROXY')).toBe('');
    const tail = agent.slice(agent.lastIndexOf('--core=0') + 2);
    expect(tail).toEqual(['node', '/run/lumenflow-egress/forwarder.mjs', '--', 'claude', '--print']);
    const tool = buildBwrapArgs(profile, { workspaceDir: '/tmp/ws', program: 'node', args: ['--test'], env: {}, network: { proxyDir: '/tmp/egress' } });
    expect(tool).not.toContain('/tmp/egress');
    expect(tool.join(' ')).not.toMatch(/PROXY|forwarder/);
  });

  test('masked paths are covered after their read-only bind; /proc is the sandbox own', () => {
    expect(args.indexOf('/dev/null')).toBeGreaterThan(args.indexOf('/etc'));
    expect(pairAt('--tmpfs', '/etc/ssh')).toBe(true);
    expect(pairAt('--proc', '/proc')).toBe(true);
  });

  test('the program runs under prlimit with every bound, and the profile PATH wins over the caller', () => {
    const tail = args.slice(args.indexOf('--') + 1);
    expect(tail[0]).toBe('prlimit');
    expect(tail).toContain(`--nproc=${DEFAULT_SANDBOX_LIMITS.processes}`);
    expect(tail).toContain(`--fsize=${DEFAULT_SANDBOX_LIMITS.fileSizeBytes}`);
    expect(tail.slice(-2)).toEqual(['node', '--test']);
    const pathAt = args.findIndex((a, i) => a === '--setenv' && args[i + 1] === 'PATH');
    expect(args[pathAt + 2]).toBe(profile.path);
  });

  test('the digest changes with any part of the profile', () => {
    const base = computeProfileDigest(profile);
    expect(computeProfileDigest({ ...profile })).toBe(base);
    expect(computeProfileDigest({ ...profile, processBound: 'rlimit' })).not.toBe(base);
    expect(computeProfileDigest({ ...profile, readOnly: ['/usr'] })).not.toBe(base);
    expect(computeProfileDigest({ ...profile, limits: { ...DEFAULT_SANDBOX_LIMITS, processes: 9 } })).not.toBe(base);
  });
});

describe('where no sandbox can be had', () => {
  test('a missing bwrap is SANDBOX_UNAVAILABLE, naming how to get one', async () => {
    const { createBubblewrapSandbox } = await import('@lumenflow/runtime');
    await expect(createBubblewrapSandbox({ bwrap: '/nonexistent/bwrap' })).rejects.toMatchObject({ code: 'SANDBOX_UNAVAILABLE', message: expect.stringContaining('setup:system') });
  });

  test('a bwrap that cannot make the sandbox here is SANDBOX_UNAVAILABLE too', async () => {
    const { createBubblewrapSandbox } = await import('@lumenflow/runtime');
    // `false` answers --version with nothing and never runs a sandbox.
    await expect(createBubblewrapSandbox({ bwrap: '/bin/false' })).rejects.toMatchObject({ code: 'SANDBOX_UNAVAILABLE' });
  });
});
