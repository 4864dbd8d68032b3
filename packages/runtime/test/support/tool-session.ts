// One governed-tool session on a fresh copy of the calc fixture, with a real
// sandbox and the demo's Rules, served over MCP to a real SDK client in memory.
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { createAskGrant, loadRulesFile } from '@lumenflow/policy';
import type { RuleSet } from '@lumenflow/policy';
import { createSequentialIds, createSteppingClock } from '@lumenflow/protocol';
import type { Ask, PolicyDecisionRecord, Scope, TestResults, ToolCallRecord } from '@lumenflow/protocol';
import { buildInstructions, createJudge, createMcpToolServer, createSnapshotter, createToolHost, openSandbox, prepareWorkspace } from '@lumenflow/runtime';
import type { AgentClientInfo, EvidenceSink, Sandbox, ToolHost } from '@lumenflow/runtime';

export const REPO_ROOT = resolve(import.meta.dirname, '../../../..');

export interface Recorded {
  decisions: PolicyDecisionRecord[];
  calls: ToolCallRecord[];
  tests: TestResults[];
  diffs: string[];
}

export interface ToolSession {
  client: Client;
  host: ToolHost;
  recorded: Recorded;
  workspaceDir: string;
  clientInfo: () => AgentClientInfo | undefined;
  /** The text of a call's first content item, and whether it is an error. */
  call(name: string, args?: unknown): Promise<{ text: string; isError: boolean }>;
  dispose(): Promise<void>;
}

let sandbox: Promise<Sandbox> | undefined;

/**
 * The demo Ask's scopes unless `requestedScopes` says otherwise; extra files go into the fixture before the baseline.
 * `evidence` replaces the sink that collects records into `recorded` (which then stays empty).
 */
export async function openToolSession(
  opts: { requestedScopes?: Scope[]; extraFiles?: Record<string, string>; cloudRules?: RuleSet; maxCalls?: number; evidence?: EvidenceSink } = {},
): Promise<ToolSession> {
  const root = await mkdtemp(join(tmpdir(), 'lumenflow-mcp-'));
  const fixture = join(root, 'fixture');
  await cp(join(REPO_ROOT, 'scripts/demo/fixtures/calc'), fixture, { recursive: true });
  for (const [path, content] of Object.entries(opts.extraFiles ?? {})) await writeFile(join(fixture, path), content);
  const clock = createSteppingClock(new Date('2026-11-23T10:00:00.000Z'));
  const workspace = await prepareWorkspace({ fixtureDir: fixture, clock, tmpRoot: root });
  const snapshotter = await createSnapshotter(workspace.dir);
  const baselineSnapshot = await snapshotter.take();
  const ask: Ask = {
    schemaVersion: 1,
    askId: 'ask-test',
    operator: { id: 'op.test', displayName: 'Test' },
    intent: 'Fix add in calc.',
    workspace: { repository: 'lumenflow-demo/calc', baseBranch: 'main' },
    requestedScopes: opts.requestedScopes ?? [
      { kind: 'fs.read', path: 'src/**' },
      { kind: 'fs.read', path: 'test/**' },
      { kind: 'fs.read', path: '.env' },
      { kind: 'fs.write', path: 'src/calc.js' },
      { kind: 'fs.write', path: '.env' },
      { kind: 'shell.exec', program: 'node', args: ['--test', '--test-reporter=tap'] },
      { kind: 'pr.create', repository: 'lumenflow-demo/calc', base: 'main' },
    ],
    runtimeLabels: [],
    createdAt: '2026-11-23T09:00:00.000Z',
  };
  const layers = {
    cloud: opts.cloudRules ?? (await loadRulesFile(join(REPO_ROOT, 'scripts/demo/rules/cloud-policy.yaml'))),
    local: await loadRulesFile(join(REPO_ROOT, 'scripts/demo/rules/runtime-local.yaml')),
  };
  const recorded: Recorded = { decisions: [], calls: [], tests: [], diffs: [] };
  const host = createToolHost({
    runId: 'run-test',
    sessionId: 'ses-test',
    ask,
    workspaceDir: workspace.dir,
    baselineCommit: workspace.baselineCommit,
    sandbox: await (sandbox ??= openSandbox({ mode: 'bubblewrap' })),
    snapshotter,
    baselineSnapshot,
    judge: createJudge({ layers, grant: createAskGrant(ask.requestedScopes), workspaceDir: workspace.dir }),
    evidence: opts.evidence ?? {
      decision: async (r) => void recorded.decisions.push(r),
      toolCall: async (r) => void recorded.calls.push(r),
      testResults: async (r) => void recorded.tests.push(r),
      diff: async (_base, patch) => void recorded.diffs.push(patch),
    },
    clock,
    ids: createSequentialIds(),
    toolTimeoutMs: 60_000,
    halt: new AbortController().signal,
    ...(opts.maxCalls === undefined ? {} : { maxCalls: opts.maxCalls }),
  });
  let info: AgentClientInfo | undefined;
  const server = createMcpToolServer(host, { instructions: buildInstructions(ask), onClient: (c) => (info = c) });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'test-agent', version: '9.9.9' });
  await client.connect(clientSide);
  return {
    client,
    host,
    recorded,
    workspaceDir: workspace.dir,
    clientInfo: () => info,
    async call(name, args = {}) {
      const result = await client.callTool({ name, arguments: args as Record<string, unknown> });
      const first = (result.content as Array<{ type: string; text?: string }>)[0];
      return { text: first?.text ?? '', isError: result.isError === true };
    },
    async dispose() {
      await client.close();
      await server.close();
      await snapshotter.dispose();
      await workspace.dispose();
      await rm(root, { recursive: true, force: true });
    },
  };
}
