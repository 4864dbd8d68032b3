import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { WorkEnd } from '../tool-host/evidence.js';
import type { ToolHost } from '../tool-host/host.js';
import { runScriptedAgent } from './scripted-agent.js';
import { createMcpToolServer } from './server.js';
import type { AgentClientInfo } from './server.js';
import { omitUndefined } from '@lumenflow/protocol';

/**
 * Serves a session's tools over MCP to the scripted agent (in memory) and
 * resolves with how the work ended: at `finish`, at the first refusal or
 * failure, or when the agent stops without finishing.
 */
export async function serveScriptedAgent(host: ToolHost, opts: { instructions: string; toolTimeoutMs: number; onClient?: (client: AgentClientInfo) => void }): Promise<WorkEnd> {
  const server = createMcpToolServer(host, { instructions: opts.instructions, ...omitUndefined({ onClient: opts.onClient }) });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const agent = runScriptedAgent(clientSide, { timeoutMs: opts.toolTimeoutMs + 60_000 }).then(
    () => host.close({ outcome: 'failed', reason: 'the agent stopped without calling finish', code: 'AGENT_NO_FINISH' }),
    () => host.close({ outcome: 'failed', reason: 'the agent failed before calling finish', code: 'AGENT_FAILED' }),
  );
  try {
    return await host.ended;
  } finally {
    await server.close();
    await agent;
  }
}
