import { readFile, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { BRIDGE_SOURCE, buildInstructions, createMcpToolServer, makeAgentDirectory, serveMcpSocket } from '@lumenflow/runtime';
import type { AgentDirectory, McpSocket } from '@lumenflow/runtime';
import { openToolSession } from './support/tool-session.js';
import type { ToolSession } from './support/tool-session.js';

// The transport a process agent uses (ADR 0033): the session's MCP server on a
// Unix socket in the agent's directory, reached through the bridge that the
// directory's mcp.json starts, as a stdio MCP server.

let session: ToolSession | undefined;
let agentDir: AgentDirectory | undefined;
let served: McpSocket | undefined;
afterEach(async () => {
  await served?.close();
  await agentDir?.dispose();
  await session?.dispose();
  served = agentDir = session = undefined;
});

/** Resolves with what a raw connection to the socket received before it was closed, or its error code. */
const rawConnection = (path: string): Promise<string> =>
  new Promise((resolve) => {
    let received = '';
    const socket = connect(path);
    socket.on('data', (chunk) => (received += chunk.toString()));
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(`error ${error.code}`));
    socket.on('close', () => resolve(`closed, received ${JSON.stringify(received)}`));
  });

describe('the MCP socket and the agent directory', () => {
  test('the directory is private and its mcp.json starts the bridge on the socket', async () => {
    agentDir = await makeAgentDirectory();
    expect((await stat(agentDir.dir)).mode & 0o777).toBe(0o700);
    const config = JSON.parse(await readFile(agentDir.configPath, 'utf8')) as unknown;
    expect(config).toEqual({ mcpServers: { lumenflow: { command: 'node', args: [agentDir.bridgePath, agentDir.socketPath] } } });
    expect(config).toEqual(agentDir.mcpConfig);
    expect(await readFile(agentDir.bridgePath, 'utf8')).toBe(BRIDGE_SOURCE);
    await agentDir.dispose();
    await expect(stat(agentDir.dir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  test('an SDK client through the bridge reaches the tool host; a second connection gets nothing; close ends the socket', async () => {
    session = await openToolSession();
    agentDir = await makeAgentDirectory();
    served = await serveMcpSocket(createMcpToolServer(session.host, { instructions: buildInstructions({ intent: 'Over the socket.', workspace: { repository: 'lumenflow-demo/calc', baseBranch: 'main' } }) }), agentDir.socketPath);
    expect(served.connected).toBe(false);

    const { command, args } = agentDir.mcpConfig.mcpServers.lumenflow;
    const client = new Client({ name: 'socket-agent', version: '1.2.3' });
    await client.connect(new StdioClientTransport({ command, args, stderr: 'pipe' }));
    expect(served.connected).toBe(true);
    expect(client.getInstructions()).toContain('Over the socket.');
    const read = await client.callTool({ name: 'read_file', arguments: { path: 'src/calc.js' } });
    expect(read.isError).toBe(false);
    expect((read.content as Array<{ text: string }>)[0]?.text).toContain('function add');
    expect(session.recorded.calls.map((c) => [c.tool, c.status])).toEqual([['read_file', 'succeeded']]);

    // One client per session: whoever connects next is cut off without a byte.
    expect(await rawConnection(agentDir.socketPath)).toBe('closed, received ""');
    expect(session.recorded.calls).toHaveLength(1);

    await served.close();
    served = undefined;
    await client.close();
    expect(await rawConnection(agentDir.socketPath)).toMatch(/^error (ENOENT|ECONNREFUSED)$/);
  });
});
