import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { createRuleSet } from '@lumenflow/policy';
import { canonicalize } from '@lumenflow/protocol';
import { MCP_SERVER_NAME, TOOL_LIMITS } from '@lumenflow/runtime';
import { openToolSession } from './support/tool-session.js';
import type { ToolSession } from './support/tool-session.js';

// The governed tools through a real MCP SDK client: every call is decided,
// executed and recorded by the tool host, and every refusal names its rule.

let session: ToolSession | undefined;
const open = async (opts?: Parameters<typeof openToolSession>[0]): Promise<ToolSession> => (session = await openToolSession(opts));
afterEach(async () => {
  await session?.dispose();
  session = undefined;
});

describe('the MCP server', () => {
  test('serves exactly the eight governed tools, with hints that follow their scope, and the Ask as instructions', async () => {
    const s = await open();
    const { tools } = await s.client.listTools();
    expect(tools.map((t) => t.name)).toEqual(['read_file', 'list_files', 'search', 'write_file', 'run_tests', 'run_command', 'git_diff', 'finish']);
    const hints = Object.fromEntries(tools.map((t) => [t.name, [t.annotations?.readOnlyHint, t.annotations?.destructiveHint]]));
    expect(hints).toMatchObject({ read_file: [true, false], list_files: [true, false], search: [true, false], write_file: [false, true], run_command: [false, true], run_tests: [false, true] });
    const write = tools.find((t) => t.name === 'write_file');
    expect(write?.inputSchema).toMatchObject({ type: 'object', required: ['path', 'content'], additionalProperties: false });
    expect(s.client.getInstructions()).toContain('Fix add in calc.');
    expect(s.client.getServerVersion()?.name).toBe(MCP_SERVER_NAME);
    expect(s.clientInfo()).toEqual({ name: 'test-agent', version: '9.9.9' });
  });

  test('each allowed call runs and is recorded with its allow decision; finish ends the work', async () => {
    const s = await open();
    const read = await s.call('read_file', { path: 'src/calc.js' });
    expect(read).toMatchObject({ isError: false });
    expect(read.text).toContain('function add');
    // The demo policy has no rule on a directory: a listing of one is a read it does not allow.
    expect(await s.call('write_file', { path: 'src/calc.js', content: read.text.replace('a - b', 'a + b') })).toMatchObject({ isError: false });
    const tests = await s.call('run_tests');
    expect(tests).toMatchObject({ isError: false });
    expect(tests.text).toMatch(/^exit 0: \d+ passed, 0 failed/);
    const diff = await s.call('git_diff');
    expect(diff.text).toContain('+  return a + b;');
    expect(await s.call('finish', { title: 'Fix add', body: 'It adds now.' })).toMatchObject({ isError: false });
    const end = await s.host.ended;
    expect(end).toMatchObject({ outcome: 'completed', proposal: { title: 'Fix add', body: 'It adds now.' } });
    const { calls, decisions, tests: results, diffs } = s.recorded;
    expect(calls.map((c) => [c.tool, c.status])).toEqual([
      ['read_file', 'succeeded'],
      ['write_file', 'succeeded'],
      ['run_tests', 'succeeded'],
      ['git_diff', 'succeeded'],
    ]);
    for (const call of calls) expect(decisions.find((d) => d.decisionId === call.decisionId)).toMatchObject({ effect: 'allow', toolCallId: call.toolCallId });
    expect(results).toHaveLength(1);
    expect(diffs).toHaveLength(1);
    // After finish nothing more is served: each later call is refused and counted, not recorded one by one.
    expect(s.host.callsAfterEnd).toBe(0);
    const after = await s.call('read_file', { path: 'src/calc.js' });
    expect(after).toMatchObject({ isError: true });
    expect(after.text).toContain("the session's work has ended");
    expect(await s.call('no_such_tool')).toMatchObject({ isError: true });
    expect(calls).toHaveLength(4);
    expect(decisions).toHaveLength(4);
    expect(s.host.callsAfterEnd).toBe(2);
  }, 60_000);

  test('calls sent with finish, before its reply, are refused after it and counted', async () => {
    const s = await open();
    // Pipelined, as a hostile client may: the host serves them one at a time, finish first.
    const replies = await Promise.all([
      s.call('finish', { title: 't', body: 'b' }),
      s.call('write_file', { path: 'src/calc.js', content: 'after finish\n' }),
      s.call('run_tests'),
    ]);
    expect(replies.map((r) => r.isError)).toEqual([false, true, true]);
    expect(replies[1]?.text).toContain("the session's work has ended");
    expect(await s.host.ended).toMatchObject({ outcome: 'completed' });
    expect(s.recorded.calls.map((c) => c.tool)).toEqual(['git_diff']);
    expect(s.host.callsAfterEnd).toBe(2);
    expect(await readFile(join(s.workspaceDir, 'src/calc.js'), 'utf8')).not.toContain('after finish');
  });

  test('finish takes the diff itself when the agent changed files after its last one', async () => {
    const s = await open();
    await s.call('write_file', { path: 'src/calc.js', content: 'export const x = 1;\n' });
    await s.call('finish', { title: 't', body: 'b' });
    expect(s.recorded.calls.map((c) => c.tool)).toEqual(['write_file', 'git_diff']);
    expect(s.recorded.diffs[0]).toContain('+export const x = 1;');
  });

  test('git_diff shows a file the agent created, as a new file', async () => {
    const s = await open({ requestedScopes: [{ kind: 'fs.write', path: 'src/**' }, { kind: 'pr.create', repository: 'lumenflow-demo/calc', base: 'main' }] });
    await s.call('write_file', { path: 'src/added.js', content: 'export const added = 1;\n' });
    await s.call('git_diff');
    expect(s.recorded.diffs[0]).toContain('+++ b/src/added.js');
  });

  test('git_diff shows a file the baseline ignored once the agent stops ignoring it', async () => {
    const s = await open({
      requestedScopes: [{ kind: 'fs.write', path: 'src/**' }, { kind: 'pr.create', repository: 'lumenflow-demo/calc', base: 'main' }],
      extraFiles: { 'src/.gitignore': 'notes.txt\n', 'src/notes.txt': 'kept out of the baseline\n' },
    });
    await s.call('git_diff');
    expect(s.recorded.diffs[0]).toBe('');
    await s.call('write_file', { path: 'src/.gitignore', content: '' });
    await s.call('git_diff');
    expect(s.recorded.diffs[1]).toContain('+++ b/src/notes.txt');
  });

  test('run_command runs exactly argv in the sandbox, when the Ask requested it and Rules allow it', async () => {
    const cloud = createRuleSet(
      {
        version: 1,
        rules: [
          { id: 'test.node-version', effect: 'allow', match: { kind: 'shell.exec', program: 'node', args: ['--version'] }, reason: 'ok' },
          { id: 'test.node-print', effect: 'allow', match: { kind: 'shell.exec', program: 'node', args: ['--print', '1'] }, reason: 'ok' },
        ],
      },
      'test-cloud.yaml',
    );
    const s = await open({ cloudRules: cloud, requestedScopes: [{ kind: 'shell.exec', program: 'node', args: ['--version'] }] });
    const ran = await s.call('run_command', { argv: ['node', '--version'] });
    expect(ran).toMatchObject({ isError: false });
    expect(ran.text).toContain(process.version);
    expect(s.recorded.calls[0]).toMatchObject({ tool: 'run_command', scope: { kind: 'shell.exec', target: 'node --version' }, sandbox: { kind: 'bubblewrap' }, exitCode: 0 });
    // Allowed by Rules, but not what the Ask requested.
    const other = await s.call('run_command', { argv: ['node', '--print', '1'] });
    expect(other).toMatchObject({ isError: true });
    expect(other.text).toMatch(/^denied by policy\.ask\.out-of-scope: /);
  });
});

describe('refused calls', () => {
  test('a call Rules deny returns a tool error naming the rule, is recorded as a denied decision, and ends the work', async () => {
    const s = await open({ extraFiles: { '.env': 'SECRET=1\n' } });
    const denied = await s.call('read_file', { path: '.env' });
    expect(denied.isError).toBe(true);
    expect(denied.text).toMatch(/^denied by org\.fs\.dotenv\.deny-read: \.env files hold credentials/);
    expect(denied.text).not.toContain('SECRET');
    expect(s.recorded.decisions).toEqual([expect.objectContaining({ effect: 'deny', decidingRuleId: 'org.fs.dotenv.deny-read', toolCallId: 'call_0001', scope: { kind: 'fs.read', target: '.env' } })]);
    expect(s.recorded.calls).toEqual([]);
    expect(await s.host.ended).toMatchObject({ outcome: 'halted', code: 'POLICY_DENIED' });
    const after = await s.call('read_file', { path: 'src/calc.js' });
    expect(after).toMatchObject({ isError: true });
    expect(after.text).toContain("the session's work has ended");
    expect(s.recorded.decisions).toHaveLength(1);
    expect(s.host.callsAfterEnd).toBe(1);
  });

  test('a write local Rules deny never reaches the workspace', async () => {
    const s = await open({ requestedScopes: [{ kind: 'fs.write', path: '**' }] });
    const denied = await s.call('write_file', { path: 'package.json', content: '{}' });
    expect(denied.text).toMatch(/^denied by runtime\.fs\.manifest\.deny-write: /);
    expect(await readFile(join(s.workspaceDir, 'package.json'), 'utf8')).toContain('"calc"');
  });

  test('a call Rules allow but the Ask did not request is denied by policy.ask.out-of-scope', async () => {
    // Cloud allows reading package.json (org.fs.manifest.read); this Ask asked only for two reads.
    const s = await open({ requestedScopes: [{ kind: 'fs.read', path: 'src/calc.js' }, { kind: 'fs.read', path: 'test/calc.test.js' }] });
    expect(await s.call('read_file', { path: 'src/calc.js' })).toMatchObject({ isError: false });
    const denied = await s.call('write_file', { path: 'src/calc.js', content: 'x' });
    expect(denied).toMatchObject({ isError: true });
    expect(denied.text).toMatch(/^denied by policy\.ask\.out-of-scope: the Ask did not request fs\.write src\/calc\.js/);
    expect(s.recorded.decisions[1]).toMatchObject({ effect: 'deny', decidingRuleId: 'policy.ask.out-of-scope', matchedRuleIds: [] });
    expect(await readFile(join(s.workspaceDir, 'src/calc.js'), 'utf8')).toContain('function add');
  });

  test.each([
    ['read_file', { path: 42 }, 'path'],
    ['read_file', { path: 'src/calc.js', extra: true }, 'input'],
    ['run_command', { argv: [] }, 'argv'],
    ['run_command', { argv: 'rm -rf /' }, 'argv'],
    ['write_file', { path: 'src/calc.js' }, 'content'],
    // A lone surrogate has no UTF-8 form: no record naming it could be signed.
    ['read_file', { path: 'src/\ud800.js' }, 'path'],
    ['write_file', { path: 'src/calc.js', content: 'x\udc00' }, 'content'],
    ['run_command', { argv: ['node', '\ud800'] }, 'argv.1'],
    ['finish', { title: 't', body: '\ud800' }, 'body'],
  ])('bad input to %s is refused before Rules and recorded (%j)', async (tool, args, where) => {
    const s = await open();
    const refused = await s.call(tool, args);
    expect(refused.isError).toBe(true);
    expect(refused.text).toMatch(new RegExp(`^refused by policy\\.input\\.invalid: ${tool}: ${where}`));
    expect(s.recorded.decisions).toEqual([expect.objectContaining({ effect: 'deny', decidingRuleId: 'policy.input.invalid', scope: expect.objectContaining({ target: `${tool} (invalid input)` }) })]);
    expect(s.recorded.calls).toEqual([]);
  });

  test('a bad input is recorded with a printable, bounded reason, whatever keys it holds', async () => {
    const s = await open();
    const args: Record<string, unknown> = { path: 'src/calc.js', 'evil\ud800\u001b[31m': 1 };
    for (let i = 0; i < 500; i++) args[`k${i}${'x'.repeat(200)}`] = i;
    const refused = await s.call('read_file', args);
    expect(refused.text).toMatch(/^refused by policy\.input\.invalid: read_file: input: /);
    const reason = s.recorded.decisions[0]?.reason ?? '';
    expect(reason).toContain('evil\ufffd\ufffd[31m');
    expect(reason).not.toMatch(/[\p{Cc}\p{Cs}]/u);
    expect(reason.length).toBeLessThanOrEqual(1000);
    // The record can be signed: RFC 8785 has no form for a lone surrogate.
    expect(() => canonicalize(s.recorded.decisions[0])).not.toThrow();
  });

  test.each([['../outside.txt'], ['/etc/passwd'], ['src/../../x']])('a path outside the workspace (%s) is denied by the boundary rule', async (path) => {
    const s = await open({ requestedScopes: [{ kind: 'fs.read', path: '**' }] });
    const denied = await s.call('read_file', { path });
    expect(denied.text).toMatch(/^denied by policy\.boundary\.outside-workspace: /);
  });

  test('listings and searches show only files the session may read', async () => {
    const s = await open({ extraFiles: { '.env': 'a - b\n' }, requestedScopes: [{ kind: 'fs.read', path: '**' }], cloudRules: createRuleSet({ version: 1, rules: [
      { id: 'test.read', effect: 'allow', match: { kind: 'fs.read', path: '**' }, reason: 'ok' },
      { id: 'test.env', effect: 'deny', match: { kind: 'fs.read', path: '**/.env' }, reason: 'no' },
    ] }, 'test-cloud.yaml') });
    const listed = (await s.call('list_files')).text.split('\n');
    expect(listed).toEqual(['package.json', 'src/calc.js', 'test/calc.test.js']);
    expect((await s.call('list_files', { path: 'src' })).text).toBe('src/calc.js');
    const found = await s.call('search', { pattern: 'a - b' });
    expect(found.text).toMatch(/^src\/calc\.js:\d+: /);
    expect(found.text).not.toContain('.env');
    expect(s.recorded.calls.map((c) => [c.tool, c.scope.target])).toEqual([
      ['list_files', '.'],
      ['list_files', 'src'],
      ['search', '.'],
    ]);
  });

  test('a huge file is cut in the reply, hashed whole, and the cut recorded', async () => {
    const big = 'x'.repeat(TOOL_LIMITS.readBytes * 2);
    const s = await open({ extraFiles: { 'big.txt': big }, requestedScopes: [{ kind: 'fs.read', path: '**' }], cloudRules: createRuleSet({ version: 1, rules: [{ id: 'test.read', effect: 'allow', match: { kind: 'fs.read', path: '**' }, reason: 'ok' }] }, 'test-cloud.yaml') });
    const read = await s.call('read_file', { path: 'big.txt' });
    expect(Buffer.byteLength(read.text)).toBeLessThan(TOOL_LIMITS.readBytes + 200);
    expect(read.text).toContain(`[cut: ${big.length} bytes`);
    expect(s.recorded.calls[0]).toMatchObject({ status: 'succeeded', limit: 'output' });
  });

  test('an unknown tool is refused like a bad input: a deny by policy.input.invalid that ends the work', async () => {
    const s = await open();
    expect(await s.call('read_file', { path: 'src/calc.js' })).toMatchObject({ isError: false });
    const refused = await s.call('delete_repository', {});
    expect(refused.isError).toBe(true);
    expect(refused.text).toMatch(/^refused by policy\.input\.invalid: unknown tool "delete_repository"; the tools are read_file, /);
    expect(s.recorded.decisions[1]).toEqual(
      expect.objectContaining({ effect: 'deny', decidingRuleId: 'policy.input.invalid', evaluatedAt: 'runtime', toolCallId: 'call_0002', scope: { kind: 'shell.exec', target: 'delete_repository (unknown tool)' } }),
    );
    expect(s.recorded.calls.map((c) => c.tool)).toEqual(['read_file']);
    expect(await s.host.ended).toMatchObject({ outcome: 'halted', code: 'POLICY_DENIED' });
  });

  test('an unknown tool name is cut and stored printable in the deny', async () => {
    const s = await open();
    const name = `evil\u0000\u001b[31m\u202e\ud800${'x'.repeat(300)}`;
    expect(await s.call(name)).toMatchObject({ isError: true });
    const target = s.recorded.decisions[0]?.scope.target ?? '';
    expect(target).toBe(`evil\ufffd\ufffd[31m\ufffd\ufffd${'x'.repeat(100 - 12)} (unknown tool)`);
    expect(s.recorded.decisions[0]?.reason).not.toMatch(/[\p{Cc}\p{Cs}\u202e]/u);
  });
});

describe('a flood of calls', () => {
  test('past the per-session bound the work ends and nothing more is recorded', async () => {
    const s = await open({ maxCalls: 3 });
    for (let i = 0; i < 3; i++) expect(await s.call('read_file', { path: 'src/calc.js' })).toMatchObject({ isError: false });
    const over = await s.call('read_file', { path: 'src/calc.js' });
    expect(over).toMatchObject({ isError: true });
    expect(over.text).toContain('more than 3 tool calls');
    expect(await s.host.ended).toMatchObject({ outcome: 'failed', code: 'TOOL_CALL_LIMIT' });
    expect(s.recorded.calls).toHaveLength(3);
  });

  test('an unknown tool counts against the bound like any call', async () => {
    const s = await open({ maxCalls: 3 });
    for (let i = 0; i < 3; i++) expect(await s.call('read_file', { path: 'src/calc.js' })).toMatchObject({ isError: false });
    const over = await s.call('nope');
    expect(over.text).toContain('more than 3 tool calls');
    expect(await s.host.ended).toMatchObject({ outcome: 'failed', code: 'TOOL_CALL_LIMIT' });
    expect(s.recorded.decisions.filter((d) => d.effect === 'deny')).toEqual([]);
  });

  test('a flood of unknown tools: the first is a recorded deny, the rest are refused and counted, and the evidence stays bounded', async () => {
    const s = await open();
    const flood = 2000;
    const replies = await Promise.all(Array.from({ length: flood }, (_, i) => s.call(`nope_${i}`)));
    expect(replies.every((r) => r.isError)).toBe(true);
    expect(await s.host.ended).toMatchObject({ outcome: 'halted', code: 'POLICY_DENIED' });
    expect(s.recorded.decisions).toEqual([expect.objectContaining({ effect: 'deny', decidingRuleId: 'policy.input.invalid', scope: { kind: 'shell.exec', target: 'nope_0 (unknown tool)' } })]);
    expect(s.recorded.calls).toEqual([]);
    expect(s.host.callsAfterEnd).toBe(flood - 1);
  }, 60_000);
});
