// A stand-in for a real agent (Claude Code, Codex): a separate program that
// reads the MCP configuration the runtime wrote, starts the server command in
// it, and works through the governed tools with the SDK's Client. Bundled into
// one file by the test, so it runs in the sandbox without node_modules.
// argv: <mcp config path> <mode> [port]; modes: fix, exit-early, write-direct, hang, read-env,
// unknown-tool (calls a tool that does not exist, then writes), after-finish (names itself with
// control characters and a lone surrogate, fixes, then sends finish with two more calls pipelined),
// probe-net (tries a TCP connection to 127.0.0.1:<port> and notes the result in its change),
// probe-egress (through HTTPS_PROXY: a CONNECT to 127.0.0.1:<port> and one to a host not listed;
// then a direct connection, then the same from a tool process through run_command; notes each).
// The tool process's probe, as `node -e <EGRESS_TOOL_PROBE> <port>`: what a process the agent's
// run_command starts gets for the proxy's port and the target's, on its own 127.0.0.1.
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { EGRESS_TOOL_PROBE } from './egress-probe.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

async function main(): Promise<void> {
  const [configPath, mode] = process.argv.slice(2);
  if (configPath !== process.env['LUMENFLOW_MCP_CONFIG']) throw new Error('the config path and LUMENFLOW_MCP_CONFIG differ');
  if (mode === 'exit-early') process.exit(3);
  const config = JSON.parse(readFileSync(configPath as string, 'utf8')) as { mcpServers: Record<string, { command: string; args: string[] }> };
  const server = config.mcpServers['lumenflow'];
  if (server === undefined) throw new Error('no lumenflow server in the config');
  // A hostile client may say anything about itself at initialize.
  const client = mode === 'after-finish' ? new Client({ name: 'hostile\u0000agent\u001b[31m\u202e', version: '6.6\ud800' }) : new Client({ name: 'test-process-agent', version: '2.0.0' });
  await client.connect(new StdioClientTransport({ command: server.command, args: server.args }));
  const text = async (name: string, args: Record<string, unknown> = {}): Promise<string> => {
    const result = await client.callTool({ name, arguments: args });
    return (result.content as Array<{ text?: string }>)[0]?.text ?? '';
  };
  const intent = client.getInstructions() ?? '';
  const source = await text('read_file', { path: 'src/calc.js' });
  if (mode === 'read-env') {
    // A hostile agent: the deny ends its work; everything after is refused, counted, not recorded one by one.
    await text('read_file', { path: '.env' });
    await text('write_file', { path: 'src/calc.js', content: 'after the deny\n' });
    await client.close();
    return;
  }
  if (mode === 'unknown-tool') {
    // A tool the server never listed: refused and recorded; the write after it is refused too.
    await text('delete_repository', { confirm: true });
    await text('write_file', { path: 'src/calc.js', content: 'after the unknown tool\n' });
    await client.close();
    return;
  }
  let network = 'not tried';
  if (mode === 'probe-net') network = await probe(Number(process.argv[4]));
  if (mode === 'probe-egress') network = await probeEgress(Number(process.argv[4]), text);
  let direct = 'not tried';
  if (mode === 'write-direct') {
    try {
      writeFileSync('src/direct.txt', 'tampered\n');
      direct = 'written';
    } catch (error) {
      direct = (error as { code?: string }).code ?? 'failed';
    }
  }
  if (mode === 'hang') await new Promise(() => setInterval(() => undefined, 1000));
  // What it saw goes into the change itself, where the test can read it in the diff.
  const note = `// intent: ${intent.split('\n')[0] ?? ''}\n// direct write: ${direct}\n// network: ${network}\n`;
  await text('write_file', { path: 'src/calc.js', content: source.replace('a - b', 'a + b') + note });
  await text('run_tests');
  if (mode === 'after-finish') {
    // Sent together: the two after finish reach the server before its reply.
    await Promise.allSettled([
      text('finish', { title: 'Fix add', body: 'add(a, b) adds.' }),
      text('write_file', { path: 'src/calc.js', content: 'after finish\n' }),
      text('read_file', { path: 'src/calc.js' }),
    ]);
    await client.close();
    return;
  }
  await text('finish', { title: 'Fix add', body: 'add(a, b) adds.' });
  await client.close();
}

/** What the agent sees of its network with an allow-list: one line per attempt. */
async function probeEgress(port: number, text: (name: string, args: Record<string, unknown>) => Promise<string>): Promise<string> {
  const proxy = new URL(process.env['HTTPS_PROXY'] ?? 'http://127.0.0.1:1');
  const env = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'ALL_PROXY', 'NO_PROXY'].map((name) => `${name}=${process.env[name] ?? '(unset)'}`).join(' ');
  const listed = await tunnel(Number(proxy.port), `127.0.0.1:${port}`, 'ping');
  const unlisted = await tunnel(Number(proxy.port), 'not-listed.example:443', 'ping');
  const direct = await probe(port);
  const tool = (await text('run_command', { argv: ['node', '-e', EGRESS_TOOL_PROBE, String(port)] })).replace(/\s+/g, ' ').trim();
  return `env ${env}\n// network: listed ${listed}\n// network: unlisted ${unlisted}\n// network: direct ${direct}\n// network: tool ${tool}`;
}

/** A CONNECT through the proxy on 127.0.0.1:<proxyPort>: the status code, then what came back for `payload`. */
function tunnel(proxyPort: number, target: string, payload: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: proxyPort });
    let got = '';
    let status = '';
    const done = (what: string): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(what);
    };
    const timer = setTimeout(() => done(`${status || 'no answer'} timeout`), 5000);
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code ?? 'error'));
    socket.on('data', (chunk: Buffer) => {
      got += chunk.toString('latin1');
      if (status === '') {
        const end = got.indexOf('\r\n\r\n');
        if (end < 0) return;
        status = (got.split(' ')[1] ?? '?').trim();
        got = got.slice(end + 4);
        if (status !== '200') return done(status);
        socket.write(payload);
      }
      if (got.length >= payload.length) done(`${status} ${got === payload ? 'echoed' : 'garbled'}`);
    });
    socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  });
}

/** `connected`, or the error code of a TCP connection to 127.0.0.1:port (bounded by a timer). */
function probe(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('timeout');
    }, 3000);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.end('probe\n');
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(error.code ?? 'error');
    });
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`agent: ${(error as Error).message}\n`);
  process.exit(1);
});
