// pnpm bench:agents — the cost of the MCP interface: the round trip of one
// read_file through an SDK Client over the in-memory transport (the one the
// scripted agent uses), against calling the tool host directly. Every call is
// the full governed path either way (schema, Rules bounded by the Ask, read,
// records); only the protocol differs. Prints p50 and p99 of each.
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { createAskGrant, loadRulesFile } from '@lumenflow/policy';
import { createSequentialIds, createSteppingClock } from '@lumenflow/protocol';
import type { Ask } from '@lumenflow/protocol';
import { buildInstructions, createJudge, createMcpToolServer, createSnapshotter, createToolHost, createUnsandboxed, prepareWorkspace } from '@lumenflow/runtime';
import type { ToolHost } from '@lumenflow/runtime';
import { REPO_ROOT } from '../demo/paths.js';

const WARMUP = 200;
const CALLS = 3000;

const ask = JSON.parse(await readFile(join(REPO_ROOT, 'scripts/demo/asks/happy.json'), 'utf8')) as Ask;
const root = await mkdtemp(join(tmpdir(), 'lumenflow-bench-agents-'));
await cp(join(REPO_ROOT, 'scripts/demo/fixtures/calc'), join(root, 'fixture'), { recursive: true });
const clock = createSteppingClock(new Date('2026-11-23T10:00:00.000Z'));
const workspace = await prepareWorkspace({ fixtureDir: join(root, 'fixture'), clock, tmpRoot: root });
const snapshotter = await createSnapshotter(workspace.dir);
const layers = {
  cloud: await loadRulesFile(join(REPO_ROOT, 'scripts/demo/rules/cloud-policy.yaml')),
  local: await loadRulesFile(join(REPO_ROOT, 'scripts/demo/rules/runtime-local.yaml')),
};

function openHost(): ToolHost {
  return createToolHost({
    runId: 'bench',
    sessionId: 'bench',
    ask,
    workspaceDir: workspace.dir,
    baselineCommit: workspace.baselineCommit,
    sandbox: createUnsandboxed('bench: read_file starts no process'),
    snapshotter,
    judge: createJudge({ layers, grant: createAskGrant(ask.requestedScopes), workspaceDir: workspace.dir }),
    evidence: { decision: async () => undefined, toolCall: async () => undefined, testResults: async () => undefined, diff: async () => undefined },
    clock,
    ids: createSequentialIds(),
    toolTimeoutMs: 60_000,
    halt: new AbortController().signal,
    maxCalls: WARMUP + CALLS,
  });
}

async function measure(call: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < WARMUP; i++) await call();
  const samples: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const start = performance.now();
    await call();
    samples.push(performance.now() - start);
  }
  return samples.sort((a, b) => a - b);
}

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
const line = (label: string, s: number[]): string => `${label.padEnd(36)} p50 ${pct(s, 50).toFixed(3)} ms   p99 ${pct(s, 99).toFixed(3)} ms`;

try {
  const direct = openHost();
  const directSamples = await measure(() => direct.call('read_file', { path: 'src/calc.js' }));

  const served = openHost();
  const server = createMcpToolServer(served, { instructions: buildInstructions(ask) });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await client.connect(clientSide);
  const mcpSamples = await measure(() => client.callTool({ name: 'read_file', arguments: { path: 'src/calc.js' } }));
  await client.close();
  await server.close();

  console.log(`read_file of src/calc.js, ${CALLS} calls each after ${WARMUP} warm-up, demo Rules and Ask:`);
  console.log(line('tool host, called directly', directSamples));
  console.log(line('MCP round trip (SDK, in-memory)', mcpSamples));
  console.log(`MCP overhead at p50: ${(pct(mcpSamples, 50) - pct(directSamples, 50)).toFixed(3)} ms (goal: MCP p50 < 2 ms, p99 < 10 ms)`);
} finally {
  await snapshotter.dispose();
  await workspace.dispose();
  await rm(root, { recursive: true, force: true });
}
