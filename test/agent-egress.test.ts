// An agent whose local entry names an allow-list, in the real bubblewrap
// sandbox: it reaches a listed target only through the runtime's egress proxy
// (HTTPS_PROXY, a forwarder on its own 127.0.0.1, the proxy's Unix socket), a
// host not listed is refused, a direct connection goes nowhere, and a tool
// process its run_command starts has no network at all. The target is a TCP
// echo server on the host's 127.0.0.1, which the proxy reaches only because
// the test sets `testOnlyPermitLoopback` (no rules file can).
import { spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseRules } from '@lumenflow/policy';
import type { RuleSet } from '@lumenflow/policy';
import { NodeSessionSchema } from '@lumenflow/protocol';
import { replayBundle } from '@lumenflow/replay';
import { verifyBundle } from '@lumenflow/verifier';
import { DEMO_PATHS, runChain } from '../scripts/demo/commands/chain.js';
import { REPO_ROOT, demoChainInputs } from './support/demo-chain.js';
import { EGRESS_TOOL_PROBE } from './support/egress-probe.js';

let work: string;
let fixtureDir: string;
let echo: Server;
let port: number;
let connections = 0;
const sockets = new Set<Socket>();

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lumenflow-agent-egress-'));
  fixtureDir = join(work, 'repo');
  await cp(join(REPO_ROOT, DEMO_PATHS.fixture), fixtureDir, { recursive: true });
  await mkdir(join(fixtureDir, '.agent'));
  await build({ entryPoints: [join(REPO_ROOT, 'test/support/mcp-agent.ts')], bundle: true, platform: 'node', format: 'cjs', target: 'node20', outfile: join(fixtureDir, '.agent/agent.cjs'), logLevel: 'silent' });
  echo = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => undefined).on('close', () => sockets.delete(socket));
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  port = (echo.address() as AddressInfo).port;
}, 60_000);
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => echo.close(resolve));
  await rm(work, { recursive: true, force: true });
});

const probeArgv = (): string[] => ['node', '-e', EGRESS_TOOL_PROBE, String(port)];

/** The demo's local rules plus the probing agent with an allow-list naming the echo target. */
async function localRules(): Promise<RuleSet> {
  const base = await readFile(join(REPO_ROOT, DEMO_PATHS.localRules), 'utf8');
  const agent = `agents:\n  probe:\n    command: [node, .agent/agent.cjs, "{mcpConfig}", probe-egress, "${port}"]\n    network: { allow: ["127.0.0.1:${port}"] }\n`;
  return parseRules(`${base}\n${agent}`, { fileName: 'runtime-local.yaml', local: true });
}

/** The demo's Cloud rules plus one that allows exactly the tool process's probe. */
async function cloudRules(): Promise<RuleSet> {
  const base = await readFile(join(REPO_ROOT, DEMO_PATHS.cloudRules), 'utf8');
  const [program, ...args] = probeArgv();
  const rule = `  - id: test.shell.egress-probe\n    effect: allow\n    match: { kind: shell.exec, program: ${program}, args: ${JSON.stringify(args)} }\n    reason: The test's network probe, run as a tool process.\n`;
  return parseRules(base.replace('rules:\n', `rules:\n${rule}`), { fileName: 'cloud-policy.yaml' });
}

async function run(runId: string, permitLoopback: boolean) {
  const inputs = await demoChainInputs({ runId, outDir: join(work, 'out') }, { fixtureDir });
  const [program, ...args] = probeArgv() as [string, ...string[]];
  const ask = { ...inputs.ask, agent: 'probe', requestedScopes: [...inputs.ask.requestedScopes, { kind: 'shell.exec' as const, program, args }] };
  return runChain({
    ...inputs,
    ask,
    cloudRules: await cloudRules(),
    localRules: await localRules(),
    ...(permitLoopback ? { egress: { testOnlyPermitLoopback: true } } : {}),
  });
}

async function sessionOf(dir: string) {
  return NodeSessionSchema.parse(JSON.parse(await readFile(join(dir, 'node-session.json'), 'utf8')));
}

describe('an agent with an allow-list', () => {
  test('reaches a listed target through the proxy only; an unlisted host is refused, a direct connection and its tool processes have no network; the Proof tallies it', async () => {
    connections = 0;
    const result = await run('agent-egress-allowed', true);
    expect(result.ending).toBe('approved');
    const patch = await readFile(join(result.dir, 'file-diff.patch'), 'utf8');
    expect(patch).toContain('+// network: env HTTPS_PROXY=http://127.0.0.1:3128 https_proxy=http://127.0.0.1:3128 HTTP_PROXY=http://127.0.0.1:3128 ALL_PROXY=http://127.0.0.1:3128 NO_PROXY=\n');
    expect(patch).toContain('+// network: listed 200 echoed\n');
    expect(patch).toContain('+// network: unlisted 403\n');
    // Its own namespace: the host's 127.0.0.1 is not its 127.0.0.1.
    expect(patch).toContain('+// network: direct ECONNREFUSED\n');
    // run_command's process: neither the forwarder nor the target exists for it.
    expect(patch).toMatch(/\+\/\/ network: tool exit 0 --- stdout proxy ECONNREFUSED target ECONNREFUSED/);
    // Only the tunnel reached the target.
    expect(connections).toBe(1);
    const session = await sessionOf(result.dir);
    expect(session.agent?.network).toEqual({ allow: [`127.0.0.1:${port}`] });
    expect(session.agent?.egress).toEqual({
      allowed: 1,
      denied: 1,
      failed: 0,
      bytesOut: 4,
      bytesIn: 4,
      destinations: [
        { host: '127.0.0.1', port, outcome: 'allowed', requests: 1, bytesOut: 4, bytesIn: 4 },
        { host: 'not-listed.example', port: 443, outcome: 'denied', reason: 'not-listed', requests: 1, bytesOut: 0, bytesIn: 0 },
      ],
      omitted: 0,
    });
    expect((await verifyBundle(result.dir)).valid).toBe(true);
    expect((await replayBundle(result.dir)).verdict).toBe('VALID');
  }, 120_000);

  test('without the test-only permission, a listed loopback target is refused as a non-public address', async () => {
    connections = 0;
    const result = await run('agent-egress-loopback', false);
    expect(result.ending).toBe('approved');
    const patch = await readFile(join(result.dir, 'file-diff.patch'), 'utf8');
    expect(patch).toContain('+// network: listed 403\n');
    expect(connections).toBe(0);
    const session = await sessionOf(result.dir);
    expect(session.agent?.egress?.destinations.find((d) => d.host === '127.0.0.1')).toEqual({ host: '127.0.0.1', port, outcome: 'denied', reason: 'non-public-address', requests: 1, bytesOut: 0, bytesIn: 0 });
    expect(session.agent?.egress).toMatchObject({ allowed: 0, denied: 2 });
  }, 120_000);

  test('whose command is not found ends AGENT_NOT_FOUND as without one (the forwarder answers 127 for it)', async () => {
    const inputs = await demoChainInputs({ runId: 'agent-egress-missing', outDir: join(work, 'out') }, { fixtureDir });
    const base = await readFile(join(REPO_ROOT, DEMO_PATHS.localRules), 'utf8');
    const local = parseRules(`${base}\nagents:\n  ghost:\n    command: [no-such-agent-binary]\n    network: { allow: ["api.example.com:443"] }\n`, { fileName: 'l.yaml', local: true });
    const result = await runChain({ ...inputs, ask: { ...inputs.ask, agent: 'ghost' }, localRules: local });
    expect(result).toMatchObject({ ending: 'runtime-failed', code: 'AGENT_NOT_FOUND' });
    expect((await sessionOf(result.dir)).agent).toMatchObject({ network: { allow: ['api.example.com:443'] }, egress: { allowed: 0, denied: 0, failed: 0, destinations: [] } });
  }, 120_000);

  test('a bad entry in the local rules file stops the CLI with one coded line, before anything runs', async () => {
    const file = join(work, 'bad-local.yaml');
    await writeFile(file, 'version: 1\nrules: []\nagents:\n  claude:\n    command: [claude]\n    network: { allow: ["api.anthropic.com"] }\n');
    const cli = spawnSync(join(REPO_ROOT, 'node_modules/.bin/tsx'), [join(REPO_ROOT, 'scripts/demo/trusted-compute.ts'), '--mode', 'happy', '--local-policy', file, '--out-dir', join(work, 'out'), '--run-id', 'cli-bad-allow'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(cli.status).toBe(2);
    expect(cli.stderr).toBe(`error RULES_INVALID: ${file}:6:24: agents.claude.network.allow[0]: "api.anthropic.com" has no port; write <host>:<port>, e.g. api.example.com:443\n`);
    await expect(stat(join(work, 'out', 'cli-bad-allow'))).rejects.toThrow();
  }, 90_000);
});
