import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { BRIDGE_SOURCE, buildMcpConfig } from './bridge.js';

/** An agent's private directory: its MCP configuration, the bridge that configuration starts, and where the session's socket will be. */
export interface AgentDirectory {
  dir: string;
  socketPath: string;
  bridgePath: string;
  configPath: string;
  mcpConfig: ReturnType<typeof buildMcpConfig>;
  /** Removes the directory and everything in it. */
  dispose(): Promise<void>;
}

/**
 * Makes an agent's directory (mode 0700): `bridge.mjs`, `mcp.json` in the
 * `mcpServers` shape naming `node bridge.mjs mcp.sock`, and the path of the
 * socket {@link serveMcpSocket} listens on (ADR 0033).
 */
export async function makeAgentDirectory(opts: { tmpRoot?: string } = {}): Promise<AgentDirectory> {
  const dir = await mkdtemp(join(opts.tmpRoot ?? tmpdir(), 'lumenflow-agent-'));
  const socketPath = join(dir, 'mcp.sock');
  const bridgePath = join(dir, 'bridge.mjs');
  const configPath = join(dir, 'mcp.json');
  try {
    await writeFile(bridgePath, BRIDGE_SOURCE);
    const mcpConfig = buildMcpConfig({ bridgePath, socketPath });
    await writeFile(configPath, `${JSON.stringify(mcpConfig, null, 2)}\n`);
    await chmod(dir, 0o700);
    return { dir, socketPath, bridgePath, configPath, mcpConfig, dispose: () => rm(dir, { recursive: true, force: true }) };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** A session's MCP server listening on its Unix socket. */
export interface McpSocket {
  /** Whether a client has connected (the one the session serves). */
  readonly connected: boolean;
  /** Closes the MCP server, every connection and the listener. */
  close(): Promise<void>;
}

/**
 * Serves one MCP server on a Unix socket to one client: the first connection
 * is joined to the server over MCP's stdio framing (newline-delimited
 * JSON-RPC, what the bridge carries byte for byte); any later connection is
 * somebody else and is closed at once.
 */
export async function serveMcpSocket(mcp: Server, socketPath: string): Promise<McpSocket> {
  let connected = false;
  const sockets: Socket[] = [];
  const listener = createServer((socket) => {
    sockets.push(socket);
    // One client per session: a second connection is somebody else.
    if (connected) return void socket.destroy();
    connected = true;
    void mcp.connect(new StdioServerTransport(socket, socket));
  });
  await new Promise<void>((resolve, reject) => listener.once('error', reject).listen(socketPath, resolve));
  return {
    get connected() {
      return connected;
    },
    close: async () => {
      await mcp.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    },
  };
}
