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
    ['api.anthropic.com', 'agents.a.network.allow[0]: "api.anthropic.com" has no port; write <host>:<port>, e.g. api.example.com:443'],
    ['API.anthropic.com:443', 'agents.a.network.allow[0]: "API.anthropic.com:443": write the host in lower case'],
    ['*.com:443', 'agents.a.network.allow[0]: "*.com:443": name a host of two or more labels (example.com, not example)'],
    ['api.*.com:443', 'agents.a.network.allow[0]: "api.*.com:443": a wildcard is only a whole first label, as in *.example.com:443'],
    ['api.example.com:0', 'agents.a.network.allow[0]: "api.example.com:0": the port must be a number from 1 to 65535'],
    ['[::1]:443', 'agents.a.network.allow[0]: "[::1]:443": IPv6 addresses are not accepted; name the host'],
    ['10.0.0.256:443', 'agents.a.network.allow[0]: "10.0.0.256:443": not an IPv4 address in dotted decimal'],
    ['api.example.com:443", "api.example.com:443', 'agents.a.network.allow[1]: "api.example.com:443" is already entry 0'],
  ])('an allow-list entry %j is RULES_INVALID, in one line naming the entry', (entry, message) => {
    const text = `version: 1\nrules: []\nagents:\n  a:\n    command: [x]\n    network: { allow: ["${entry}"] }\n`;
    let error: { code?: string; message?: string } = {};
    try {
      parseRules(text, { fileName: 'l.yaml', local: true });
    } catch (caught) {
      error = caught as typeof error;
    }
    expect(error.code).toBe('RULES_INVALID');
    expect(error.message).toContain(message);
    expect(error.message).not.toContain('\n');
  });

  test('an allow-list is not empty, holds only entries, and a misspelt key is named', () => {
    const parse = (network: string): string => {
      try {
        parseRules(`version: 1\nrules: []\nagents:\n  a:\n    command: [x]\n    network: ${network}\n`, { fileName: 'l.yaml', local: true });
        return 'parsed';
      } catch (error) {
        return `${(error as { code: string }).code} ${(error as Error).message}`;
      }
    };
    expect(parse('{ allow: [] }')).toMatch(/^RULES_INVALID .*agents\.a\.network\.allow: an allow-list names at least one <host>:<port>/);
    expect(parse('{ allow: [443] }')).toMatch(/^RULES_INVALID l\.yaml:6:14: agents\.a\.network: expected none, host or/);
    expect(parse('{ allow: ["a.example:1"], deny: ["b.example:1"] }')).toMatch(/^RULES_INVALID .*unknown key "deny"/);
    expect(parse('all')).toMatch(/^RULES_INVALID .*expected none, host or \{ allow: \[<host>:<port>, \.\.\.\] \}/);
    expect(parse('{ allow: ["api.anthropic.com:443", "*.openai.com:443", "127.0.0.1:8080"] }')).toBe('parsed');
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
