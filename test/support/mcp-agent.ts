// A stand-in for a real agent (Claude Code, Codex): a separate program that
// reads the MCP configuration the runtime wrote, starts the server command in
// it, and works through the governed tools with the SDK's Client. Bundled into
// one file by the test, so it runs in the sandbox without node_modules.
// argv: <mcp config path> <mode> [port]; modes: fix, exit-early, write-direct, hang, read-env,
// probe-net (tries a TCP connection to 127.0.0.1:<port> and notes the result in its change).
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

async function main(): Promise<void> {
  const [configPath, mode] = process.argv.slice(2);
  if (configPath !== process.env['LUMENFLOW_MCP_CONFIG']) throw new Error('the config path and LUMENFLOW_MCP_CONFIG differ');
  if (mode === 'exit-early') process.exit(3);
  const config = JSON.parse(readFileSync(configPath as string, 'utf8')) as { mcpServers: Record<string, { command: string; args: string[] }> };
  const server = config.mcpServers['lumenflow'];
  if (server === undefined) throw new Error('no lumenflow server in the config');
  const client = new Client({ name: 'test-process-agent', version: '2.0.0' });
  await client.connect(new StdioClientTransport({ command: server.command, args: server.args }));
  const text = async (name: string, args: Record<string, unknown> = {}): Promise<string> => {
    const result = await client.callTool({ name, arguments: args });
    return (result.content as Array<{ text?: string }>)[0]?.text ?? '';
  };
  const intent = client.getInstructions() ?? '';
  const source = await text('read_file', { path: 'src/calc.js' });
  if (mode === 'read-env') {
    // A hostile agent: the deny ends its work; everything after is refused unrecorded.
    await text('read_file', { path: '.env' });
    await text('write_file', { path: 'src/calc.js', content: 'after the deny\n' });
    await client.close();
    return;
  }
  let network = 'not tried';
  if (mode === 'probe-net') network = await probe(Number(process.argv[4]));
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
  await text('finish', { title: 'Fix add', body: 'add(a, b) adds.' });
  await client.close();
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
