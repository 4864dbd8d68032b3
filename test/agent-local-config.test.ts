// The runtime's local rules file names the agents it starts (command line,
// network) and the repositories it serves; an agent's network is what its
// entry allows, checked against a real listener on 127.0.0.1.
import { cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseRules } from '@lumenflow/policy';
import type { RuleSet } from '@lumenflow/policy';
import { replayBundle } from '@lumenflow/replay';
import { runGit } from '@lumenflow/runtime';
import { verifyBundle } from '@lumenflow/verifier';
import { DEMO_PATHS, runChain } from '../scripts/demo/commands/chain.js';
import { REPO_ROOT, demoChainInputs } from './support/demo-chain.js';

let work: string;
let gitRepo: string;
let listener: Server;
let port: number;
let connections = 0;
const sockets = new Set<Socket>();

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lumenflow-local-config-'));
  // The calc fixture as a git repository of its own, with the agent program in it.
  gitRepo = join(work, 'calc');
  await cp(join(REPO_ROOT, DEMO_PATHS.fixture), gitRepo, { recursive: true });
  await mkdir(join(gitRepo, '.agent'));
  await build({ entryPoints: [join(REPO_ROOT, 'test/support/mcp-agent.ts')], bundle: true, platform: 'node', format: 'cjs', target: 'node20', outfile: join(gitRepo, '.agent/agent.cjs'), logLevel: 'silent' });
  await runGit(gitRepo, ['init', '--quiet', '--initial-branch=main']);
  await runGit(gitRepo, ['add', '--all']);
  await runGit(gitRepo, ['commit', '--quiet', '-m', 'calc'], new Date('2026-11-20T00:00:00Z'));
  listener = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => undefined).on('close', () => sockets.delete(socket));
    socket.destroy();
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  port = (listener.address() as AddressInfo).port;
}, 60_000);
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => listener.close(resolve));
  await rm(work, { recursive: true, force: true });
});

/** The demo's local rules plus what a runtime's own file says about agents and repositories. */
async function localFile(extra: string): Promise<RuleSet> {
  const base = await readFile(join(REPO_ROOT, DEMO_PATHS.localRules), 'utf8');
  return parseRules(`${base}\n${extra}`, { fileName: 'runtime-local.yaml', local: true });
}

const probeAgent = (network: string): string => `agents:
  probe:
    command: [node, .agent/agent.cjs, "{mcpConfig}", probe-net, "${port}"]
    network: ${network}
repositories:
  lumenflow-demo/calc: { path: "${gitRepo}" }
`;

describe("the runtime's local rules file", () => {
  test('a Cloud policy may not name agents or repositories', () => {
    expect(() => parseRules('version: 1\nrules: []\nagents: { a: { command: [x] } }\n', { fileName: 'cloud.yaml' })).toThrow(expect.objectContaining({ code: 'RULES_INVALID' }));
    expect(() => parseRules('version: 1\nrules: []\nagents: { a: { command: [x] } }\n', { fileName: 'local.yaml', local: true })).not.toThrow();
    // Strict like the rest of the file: an unknown network or key is an error, not ignored.
    expect(() => parseRules('version: 1\nrules: []\nagents: { a: { command: [x], network: all } }\n', { fileName: 'l.yaml', local: true })).toThrow(expect.objectContaining({ code: 'RULES_INVALID' }));
    expect(() => parseRules('version: 1\nrules: []\nrepositories: { acme/x: { path: relative/dir } }\n', { fileName: 'l.yaml', local: true })).toThrow(expect.objectContaining({ code: 'RULES_INVALID' }));
    expect(() => parseRules('version: 1\nrules: []\nrepositories: { acme/x: { remote: "ext::sh -c touch% /tmp/pwned" } }\n', { fileName: 'l.yaml', local: true })).toThrow(expect.objectContaining({ code: 'RULES_INVALID' }));
  });

  test.each([
    ['a local path', (dir: string) => `repositories:\n  lumenflow-demo/calc: { path: "${dir}" }\n`],
    ['a remote URL', (dir: string) => `repositories:\n  lumenflow-demo/calc: { remote: "file://${dir}" }\n`],
  ])('serves the repository an Ask names from %s, on a fresh clone of its base branch', async (_what, entry) => {
    const inputs = await demoChainInputs({ runId: `local-repo-${_what.replace(/\W+/g, '-')}`, outDir: join(work, 'out') });
    // The runtime's own workspace holds another repository: only the file's entry can serve this Ask.
    const result = await runChain({ ...inputs, repository: 'nobody/nothing', localRules: await localFile(entry(gitRepo)) });
    expect(result.ending).toBe('approved');
    const baseline = (await runGit(gitRepo, ['rev-parse', 'main'])).trim();
    expect(await readFile(join(result.dir, 'file-diff.patch'), 'utf8')).toContain('+  return a + b;');
    expect((await verifyBundle(result.dir)).valid).toBe(true);
    const receipts = JSON.parse(await readFile(join(result.dir, 'node-session.json'), 'utf8')) as { runtimeEvidence: { receipts: Array<{ baselineCommit?: string }> } };
    expect(receipts.runtimeEvidence.receipts.find((r) => r.baselineCommit !== undefined)?.baselineCommit).toBe(baseline);
  }, 90_000);

  test.each([
    ['none', 'ECONNREFUSED', 0],
    ['host', 'connected', 1],
  ] as const)('an agent with network %s: its connection to a listener on the host loopback gives %s', async (network, seen, count) => {
    connections = 0;
    const inputs = await demoChainInputs({ runId: `local-net-${network}`, outDir: join(work, 'out') });
    const result = await runChain({ ...inputs, ask: { ...inputs.ask, agent: 'probe' }, localRules: await localFile(probeAgent(network)) });
    expect(result.ending).toBe('approved');
    expect(await readFile(join(result.dir, 'file-diff.patch'), 'utf8')).toContain(`+// network: ${seen}`);
    expect(connections).toBe(count);
    const session = JSON.parse(await readFile(join(result.dir, 'node-session.json'), 'utf8')) as { agent?: { name: string; network?: string; client?: unknown } };
    expect(session.agent).toMatchObject({ name: 'probe', network, client: { name: 'test-process-agent', version: '2.0.0' } });
    expect((await replayBundle(result.dir)).verdict).toBe('VALID');
  }, 90_000);
});
