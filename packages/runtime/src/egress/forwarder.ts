/** Where the runtime's egress directory (the proxy's socket and the forwarder) appears inside an agent's sandbox, read-only. */
export const EGRESS_MOUNT = '/run/lumenflow-egress';
/** The proxy's socket and the forwarder, by name, in that directory. */
export const EGRESS_SOCKET_NAME = 'proxy.sock';
export const EGRESS_FORWARDER_NAME = 'forwarder.mjs';
/** The port the forwarder listens on, on the sandbox's own 127.0.0.1 (its network namespace has nothing else). */
export const EGRESS_PROXY_PORT = 3128;
/** What the agent is told: every proxy variable its tools may read, and no exception. */
export const EGRESS_PROXY_ENV: Readonly<Record<string, string>> = Object.freeze({
  HTTPS_PROXY: `http://127.0.0.1:${EGRESS_PROXY_PORT}`,
  https_proxy: `http://127.0.0.1:${EGRESS_PROXY_PORT}`,
  HTTP_PROXY: `http://127.0.0.1:${EGRESS_PROXY_PORT}`,
  http_proxy: `http://127.0.0.1:${EGRESS_PROXY_PORT}`,
  ALL_PROXY: `http://127.0.0.1:${EGRESS_PROXY_PORT}`,
  all_proxy: `http://127.0.0.1:${EGRESS_PROXY_PORT}`,
  NO_PROXY: '',
  no_proxy: '',
});

/**
 * The program the sandbox starts first for an agent with an allow-list: it
 * listens on the sandbox's 127.0.0.1 and joins each connection, byte for
 * byte, to the runtime's proxy socket (bound in read-only), then starts the
 * agent and ends with it (127 when the agent's program is not found, as a
 * shell would). It decides nothing; the proxy does. Plain JavaScript, written
 * into the runtime's egress directory, because inside the sandbox nothing of
 * the runtime's own files is visible.
 */
export const FORWARDER_SOURCE = `// LumenFlow runtime: the sandbox's door to the egress proxy, then the agent.
import { spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { constants } from 'node:os';
const socketPath = ${JSON.stringify(`${EGRESS_MOUNT}/${EGRESS_SOCKET_NAME}`)};
const argv = process.argv.slice(process.argv.indexOf('--') + 1);
const server = createServer((client) => {
  const upstream = connect(socketPath);
  const end = () => { client.destroy(); upstream.destroy(); };
  client.on('error', end).on('close', end);
  upstream.on('error', end).on('close', end);
  client.pipe(upstream);
  upstream.pipe(client);
});
server.maxConnections = 256;
server.on('error', (error) => { process.stderr.write('lumenflow egress forwarder: ' + error.message + '\\n'); process.exit(125); });
server.listen(${EGRESS_PROXY_PORT}, '127.0.0.1', () => {
  const child = spawn(argv[0], argv.slice(1), { stdio: 'inherit' });
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('error', (error) => process.exit(error.code === 'ENOENT' ? 127 : 126));
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
});
`;
