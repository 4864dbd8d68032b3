import type { AgentNetwork, EgressRecord } from '@lumenflow/protocol';
import { openAgentEgress } from '../egress/index.js';
import type { EgressSettings } from '../egress/index.js';
import type { SandboxNetwork } from '../sandbox/profile.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import type { WorkEnd } from '../tool-host/evidence.js';
import type { ToolHost } from '../tool-host/host.js';
import { AGENT_PLACEHOLDERS, expandAgentCommand } from './agent-command.js';
import { makeAgentDirectory, serveMcpSocket } from './mcp-socket.js';
import type { McpSocket } from './mcp-socket.js';
import { createMcpToolServer } from './server.js';
import type { AgentClientInfo } from './server.js';
import { omitUndefined } from '@lumenflow/protocol';

/** The placeholder in an agent's command line that becomes the MCP configuration file's path. */
export const MCP_CONFIG_PLACEHOLDER = AGENT_PLACEHOLDERS.mcpConfig;

/**
 * Starts an agent command line in the sandbox (the workspace read-only to it)
 * and serves the session's tools to it over MCP, through a Unix socket in the
 * agent's own directory that the MCP configuration's bridge joins. Resolves
 * with how the work ended: `finish`, a refusal, or the agent exiting first
 * (AGENT_NO_FINISH). The agent is stopped when the work ends. With an
 * allow-list, the runtime's egress proxy serves the agent for its lifetime,
 * and its record comes back with the ending.
 */
export async function runProcessAgent(
  host: ToolHost,
  opts: {
    command: readonly string[];
    network?: AgentNetwork;
    instructions: string;
    sandbox: Sandbox;
    workspaceDir: string;
    tmpRoot?: string;
    signal?: AbortSignal;
    onClient?: (client: AgentClientInfo) => void;
    egress?: EgressSettings;
  },
): Promise<{ end: WorkEnd; egress?: EgressRecord }> {
  const network = opts.network ?? 'none';
  if (typeof network !== 'object') return { end: await runInSandbox(host, opts, network) };
  const egress = await openAgentEgress(network, { ...opts.egress, ...omitUndefined({ tmpRoot: opts.tmpRoot }) });
  let end: WorkEnd;
  try {
    end = await runInSandbox(host, opts, { proxyDir: egress.proxyDir });
  } catch (error) {
    await egress.close().catch(() => undefined);
    throw error;
  }
  return { end, egress: await egress.close() };
}

async function runInSandbox(host: ToolHost, opts: Parameters<typeof runProcessAgent>[1], network: SandboxNetwork): Promise<WorkEnd> {
  const agentDir = await makeAgentDirectory(omitUndefined({ tmpRoot: opts.tmpRoot }));
  const { dir, configPath, mcpConfig } = agentDir;
  const mcp = createMcpToolServer(host, { instructions: opts.instructions, ...omitUndefined({ onClient: opts.onClient }) });
  let served: McpSocket;
  try {
    served = await serveMcpSocket(mcp, agentDir.socketPath);
  } catch (error) {
    await agentDir.dispose();
    throw error;
  }
  const stop = new AbortController();
  const argv = expandAgentCommand(opts.command, { mcpConfig: configPath, intent: opts.instructions, server: mcpConfig.mcpServers.lumenflow });
  const [program, ...args] = argv as [string, ...string[]];
  const agent = opts.sandbox
    .run(program, args, { workspaceDir: opts.workspaceDir, agentDir: dir, network, env: { LUMENFLOW_MCP_CONFIG: configPath, NO_COLOR: '1', LC_ALL: 'C' }, signal: AbortSignal.any([stop.signal, ...(opts.signal ? [opts.signal] : [])]) })
    .then(
      (result) =>
        // 127 before any MCP connection: the sandbox's exec found no such program.
        result.exitCode === 127 && !served.connected
          ? host.close({ outcome: 'failed', reason: `the agent command ${program} was not found in the sandbox (exit 127; it sees /usr, Node's prefix and the workspace)`, code: 'AGENT_NOT_FOUND' })
          : host.close({ outcome: 'failed', reason: `the agent exited with code ${result.exitCode} before calling finish`, code: 'AGENT_NO_FINISH' }),
      (error: unknown) => host.close({ outcome: 'failed', reason: `the agent could not run: ${(error as Error).message}`, code: 'AGENT_FAILED' }),
    );
  try {
    return await host.ended;
  } finally {
    stop.abort();
    await agent;
    await served.close();
    await agentDir.dispose();
  }
}
