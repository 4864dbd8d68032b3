/**
 * The program an agent's MCP configuration starts as its "server": it joins
 * its stdin and stdout to the runtime's MCP socket, byte for byte. It is
 * written into the agent's directory as plain JavaScript, because inside the
 * sandbox nothing of the runtime's own files is visible.
 */
export const BRIDGE_SOURCE = `// LumenFlow runtime: joins this process's stdio to the session's MCP socket.
import { connect } from 'node:net';
const socket = connect(process.argv[2]);
process.stdin.pipe(socket);
socket.pipe(process.stdout);
socket.on('error', (error) => { process.stderr.write('lumenflow bridge: ' + error.message + '\\n'); process.exit(1); });
socket.on('close', () => process.exit(0));
`;

/** The `mcpServers` configuration MCP clients read (e.g. Claude Code's --mcp-config), with one server: the runtime's tools through the bridge. */
export function buildMcpConfig(opts: { bridgePath: string; socketPath: string }): { mcpServers: { lumenflow: { command: string; args: string[] } } } {
  return { mcpServers: { lumenflow: { command: 'node', args: [opts.bridgePath, opts.socketPath] } } };
}
