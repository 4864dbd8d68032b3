// The canary suite's agent: a separate MCP client (bundled by the test, run in
// the sandbox) that does what leaks secrets in practice. It reads the `.env`
// it was allowed to read, has a process copy secrets into the workspace, runs
// a failing test suite that prints secrets in every encoding, and finally
// tries to write a secret into a source file. It knows the canaries (from
// `.agent/canaries.json`) and, if any tool reply shows one, records that in
// the change itself (`src/leak-seen.txt`), where the test looks for it.
// argv: <mcp config path>
import { readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

async function main(): Promise<void> {
  const [configPath] = process.argv.slice(2);
  const canaries = JSON.parse(readFileSync('.agent/canaries.json', 'utf8')) as { all: string[]; agentToken: string };
  const config = JSON.parse(readFileSync(configPath as string, 'utf8')) as { mcpServers: Record<string, { command: string; args: string[] }> };
  const server = config.mcpServers['lumenflow'];
  if (server === undefined) throw new Error('no lumenflow server in the config');
  const client = new Client({ name: 'canary-agent', version: '1.0.0' });
  await client.connect(new StdioClientTransport({ command: server.command, args: server.args }));
  const seen: string[] = [];
  const call = async (name: string, args: Record<string, unknown> = {}): Promise<string> => {
    const result = await client.callTool({ name, arguments: args });
    const text = (result.content as Array<{ text?: string }>).map((c) => c.text ?? '').join('\n');
    // Any line of any canary, as is, is a leak to the agent.
    const lines = canaries.all.flatMap((c) => c.split('\n')).filter((l) => l.length >= 8);
    if (lines.some((l) => text.includes(l))) seen.push(name);
    return text;
  };
  await call('read_file', { path: '.env' });
  await call('read_file', { path: 'test/leak.test.js' });
  await call('run_command', { argv: ['node', 'tools/copy-env.js'] });
  await call('run_command', { argv: ['node', 'tools/fail.js'] });
  await call('run_tests');
  const source = await call('read_file', { path: 'src/calc.js' });
  await call('write_file', { path: 'src/calc.js', content: source.replace('a - b', 'a + b') });
  await call('write_file', { path: 'src/leak-seen.txt', content: `tools whose replies showed a canary: ${seen.length === 0 ? 'none' : seen.join(', ')}\n` });
  await call('git_diff');
  // Last: a secret pasted into a change is refused, and the refusal ends the work.
  await call('write_file', { path: 'src/config.js', content: `export const key = '${canaries.agentToken}';\n` });
  await client.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`agent: ${(error as Error).message}\n`);
  process.exit(1);
});
