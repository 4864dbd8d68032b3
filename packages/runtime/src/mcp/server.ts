import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { RUNTIME_VERSION } from '../version.js';
import { TOOL_CATALOG, TOOL_INPUTS, TOOL_NAMES } from '../tool-host/catalog.js';
import type { ToolHost } from '../tool-host/host.js';
import { lazyJsonSchemaValidator } from './lazy-validator.js';

/** The name the runtime's MCP server gives at initialize. */
export const MCP_SERVER_NAME = 'lumenflow-runtime';

/** The client an agent named itself at MCP initialize; node-session evidence names it. */
export interface AgentClientInfo {
  name: string;
  version: string;
}

/**
 * The MCP server of one session: the governed tools of docs/agents.md, each
 * call handed to the session's tool host. The Ask's intent is the server's
 * `instructions`, so every MCP client receives it at initialize.
 *
 * The low-level `Server` is used on purpose: the SDK's `McpServer` validates
 * arguments itself and answers a bad input before a handler sees it, but a
 * bad input must reach the tool host to be recorded as a refused call.
 */
export function createMcpToolServer(host: ToolHost, opts: { instructions: string; onClient?: (client: AgentClientInfo) => void }): Server {
  const server = new Server({ name: MCP_SERVER_NAME, version: RUNTIME_VERSION }, { capabilities: { tools: {} }, instructions: opts.instructions, jsonSchemaValidator: lazyJsonSchemaValidator() });
  server.oninitialized = () => {
    const client = server.getClientVersion();
    if (client !== undefined) opts.onClient?.({ name: client.name, version: client.version });
  };
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: TOOL_LIST }));
  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    const reply = await host.call(request.params.name, request.params.arguments);
    return { content: [{ type: 'text' as const, text: reply.text }], isError: reply.isError };
  });
  return server;
}

const TOOL_LIST: Tool[] = TOOL_NAMES.map((name) => {
  const { $schema: _drop, ...schema } = z.toJSONSchema(TOOL_INPUTS[name]) as Record<string, unknown>;
  return {
    name,
    description: TOOL_CATALOG[name].description,
    inputSchema: { ...schema, type: 'object' },
    annotations: TOOL_CATALOG[name].annotations,
  };
});

/** The instructions an agent receives: the Ask's intent, where it works, and how to end. */
export function buildInstructions(ask: { intent: string; workspace: { repository: string; baseBranch: string } }): string {
  return [
    ask.intent,
    '',
    `Repository: ${ask.workspace.repository}, base branch ${ask.workspace.baseBranch}.`,
    'Change files only through these tools; every call is judged by Rules and recorded. When the work is done, call finish with the pull request title and body.',
  ].join('\n');
}
