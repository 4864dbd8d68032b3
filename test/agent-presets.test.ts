// The ready-made entries for Claude Code and Codex (docs/agents.md): the argv
// a session really starts them with, read by small parsers of each tool's
// documented flags, and the configuration they are pointed at, read in the
// shape each tool expects. No real agent binary runs: the sandbox records the
// command line instead of starting it.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseRules } from '@lumenflow/policy';
import { AGENT_PRESETS, expandAgentCommand, openSandbox } from '@lumenflow/runtime';
import type { Sandbox } from '@lumenflow/runtime';
import { runChain } from '../scripts/demo/commands/chain.js';
import { demoChainInputs } from './support/demo-chain.js';

// --- Claude Code: `claude [options] [prompt]`, options as its CLI reference documents them.
const CLAUDE_BOOLEAN = new Set(['-p', '--print', '--strict-mcp-config', '--verbose', '--dangerously-skip-permissions']);
const CLAUDE_VALUE = new Set(['--tools', '--permission-mode', '--model', '--output-format', '--max-turns']);
const CLAUDE_VARIADIC = new Set(['--mcp-config', '--allowedTools', '--allowed-tools', '--disallowedTools', '--disallowed-tools']);
const PERMISSION_MODES = new Set(['default', 'acceptEdits', 'plan', 'bypassPermissions', 'dontAsk']);

interface ClaudeArgs {
  flags: Set<string>;
  values: Map<string, string>;
  lists: Map<string, string[]>;
  prompt: string[];
}

function parseClaudeArgv(argv: readonly string[]): ClaudeArgs {
  const out: ClaudeArgs = { flags: new Set(), values: new Map(), lists: new Map(), prompt: [] };
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] as string;
    if (word === '--') {
      out.prompt.push(...argv.slice(i + 1));
      break;
    }
    if (CLAUDE_BOOLEAN.has(word)) out.flags.add(word);
    else if (CLAUDE_VALUE.has(word)) {
      if (i + 1 >= argv.length) throw new Error(`${word} needs a value`);
      out.values.set(word, argv[++i] as string);
    } else if (CLAUDE_VARIADIC.has(word)) {
      // Variadic: every following word up to the next option; items may also be comma- or space-separated.
      const items: string[] = [];
      while (i + 1 < argv.length && !(argv[i + 1] as string).startsWith('-')) items.push(...(argv[++i] as string).split(/[ ,]+/).filter(Boolean));
      if (items.length === 0) throw new Error(`${word} needs at least one value`);
      out.lists.set(word, [...(out.lists.get(word) ?? []), ...items]);
    } else if (word.startsWith('-')) throw new Error(`claude: unknown option ${word}`);
    else out.prompt.push(word);
  }
  return out;
}

// --- Codex: `codex exec [options] [--] <prompt>`; `-c key=value` with value parsed as TOML.
const CODEX_BOOLEAN = new Set(['--skip-git-repo-check', '--ignore-user-config', '--ephemeral', '--json', '--full-auto']);
const CODEX_VALUE = new Set(['--sandbox', '-s', '--model', '-m', '-c', '--config', '--cd', '-C']);
const CODEX_SANDBOXES = new Set(['read-only', 'workspace-write', 'danger-full-access']);

/** A TOML value as `-c` takes it: basic strings, booleans, integers, arrays and inline tables. */
function parseTomlValue(text: string): unknown {
  let at = 0;
  const ws = (): void => {
    while (at < text.length && /[ \t]/.test(text[at] as string)) at++;
  };
  const value = (): unknown => {
    ws();
    const c = text[at];
    if (c === '"') {
      let out = '';
      at++;
      while (text[at] !== '"') {
        if (at >= text.length) throw new Error('unterminated string');
        if (text[at] === '\\') {
          const e = text[at + 1];
          if (e === 'u') {
            out += String.fromCodePoint(parseInt(text.slice(at + 2, at + 6), 16));
            at += 6;
            continue;
          }
          out += { '"': '"', '\\': '\\', n: '\n', t: '\t' }[e as string] ?? '';
          at += 2;
          continue;
        }
        out += text[at++];
      }
      at++;
      return out;
    }
    if (c === '[') {
      at++;
      const items: unknown[] = [];
      ws();
      while (text[at] !== ']') {
        items.push(value());
        ws();
        if (text[at] === ',') at++;
        ws();
      }
      at++;
      return items;
    }
    if (c === '{') {
      at++;
      const table: Record<string, unknown> = {};
      ws();
      while (text[at] !== '}') {
        const key = /^[A-Za-z0-9_-]+/.exec(text.slice(at))?.[0];
        if (key === undefined) throw new Error(`bad key at ${at}`);
        at += key.length;
        ws();
        if (text[at++] !== '=') throw new Error('expected =');
        table[key] = value();
        ws();
        if (text[at] === ',') at++;
        ws();
      }
      at++;
      return table;
    }
    const bare = /^(true|false|-?\d+)/.exec(text.slice(at))?.[0];
    if (bare === undefined) throw new Error(`not a TOML value: ${text.slice(at)}`);
    at += bare.length;
    return bare === 'true' ? true : bare === 'false' ? false : Number(bare);
  };
  const result = value();
  ws();
  if (at !== text.length) throw new Error(`trailing text: ${text.slice(at)}`);
  return result;
}

interface CodexArgs {
  subcommand: string;
  flags: Set<string>;
  sandbox?: string;
  config: Record<string, unknown>;
  prompt: string[];
}

function parseCodexArgv(argv: readonly string[]): CodexArgs {
  const [sub, ...rest] = argv;
  if (sub !== 'exec') throw new Error(`codex: expected exec, got ${sub}`);
  const out: CodexArgs = { subcommand: sub, flags: new Set(), config: {}, prompt: [] };
  for (let i = 0; i < rest.length; i++) {
    const word = rest[i] as string;
    if (word === '--') {
      out.prompt.push(...rest.slice(i + 1));
      break;
    }
    if (CODEX_BOOLEAN.has(word)) out.flags.add(word);
    else if (CODEX_VALUE.has(word)) {
      const v = rest[++i];
      if (v === undefined) throw new Error(`${word} needs a value`);
      if (word === '--sandbox' || word === '-s') {
        if (!CODEX_SANDBOXES.has(v)) throw new Error(`bad sandbox ${v}`);
        out.sandbox = v;
      } else if (word === '-c' || word === '--config') {
        const eq = v.indexOf('=');
        if (eq < 1) throw new Error(`-c needs key=value: ${v}`);
        // Dotted keys merge into nested tables, as Codex applies its overrides.
        const path = v.slice(0, eq).split('.');
        let table = out.config;
        for (const key of path.slice(0, -1)) table = (table[key] ??= {}) as Record<string, unknown>;
        const leaf = path[path.length - 1] as string;
        const parsed = parseTomlValue(v.slice(eq + 1));
        table[leaf] = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? { ...(table[leaf] as object), ...parsed } : parsed;
      }
    } else if (word.startsWith('-')) throw new Error(`codex exec: unknown option ${word}`);
    else out.prompt.push(word);
  }
  return out;
}

// --- A sandbox that records an agent's command line (and what its config says) instead of running it.
interface Captured {
  program: string;
  args: string[];
  mcpJson: string;
  bridgeExists: boolean;
  network: unknown;
}
let work: string;
let captured: Captured[] = [];
let sandbox: Sandbox;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lumenflow-presets-'));
  const real = await openSandbox({ mode: 'bubblewrap' });
  sandbox = {
    info: real.info,
    callInfo: real.callInfo,
    run: async (program, args, opts) => {
      if (opts.agentDir === undefined) return real.run(program, args, opts);
      const config = (opts.env['LUMENFLOW_MCP_CONFIG'] as string) ?? '';
      const mcpJson = await readFile(config, 'utf8');
      const bridge = await readFile(join(opts.agentDir, 'bridge.mjs'), 'utf8').then(() => true, () => false);
      captured.push({ program, args: [...args], mcpJson, bridgeExists: bridge, network: opts.network });
      return { exitCode: 0, stdout: '', stderr: '' };
    },
  };
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function startPreset(name: 'claude-code' | 'codex'): Promise<{ run: Captured; intent: string; session: { agent?: { name: string; network?: unknown; commandDigest?: string } } }> {
  captured = [];
  const preset = AGENT_PRESETS[name];
  const yaml = `version: 1\nrules: []\nagents:\n  ${name}:\n    command: ${JSON.stringify(preset.command)}\n    network: ${JSON.stringify(preset.network)}\n`;
  const localRules = parseRules(yaml, { fileName: 'runtime-local.yaml', local: true });
  const inputs = await demoChainInputs({ runId: `preset-${name}`, outDir: join(work, 'out') }, { sandbox });
  const ask = { ...inputs.ask, agent: name, intent: '--help; rm -rf / "quoted" and a\nnewline' };
  const result = await runChain({ ...inputs, ask, localRules });
  // The agent "exited" without finish: the run is recorded as such.
  expect(result.code).toBe('AGENT_NO_FINISH');
  expect(captured).toHaveLength(1);
  const session = JSON.parse(await readFile(join(result.dir, 'node-session.json'), 'utf8'));
  return { run: captured[0] as Captured, intent: ask.intent, session };
}

describe('ready-made agent entries', () => {
  test('Claude Code: print mode, the session MCP config only, no built-in tools, the governed tools pre-approved, the intent as the prompt', async () => {
    const { run, intent, session } = await startPreset('claude-code');
    expect(run.program).toBe('claude');
    const args = parseClaudeArgv(run.args);
    expect(args.flags.has('--print')).toBe(true);
    expect(args.flags.has('--strict-mcp-config')).toBe(true);
    expect(args.values.get('--tools')).toBe('');
    expect(args.lists.get('--allowedTools')).toEqual(['mcp__lumenflow']);
    expect(args.lists.get('--disallowedTools')).toEqual(expect.arrayContaining(['Bash', 'Edit', 'Write']));
    expect(PERMISSION_MODES.has(args.values.get('--permission-mode') ?? '')).toBe(true);
    expect(args.flags.has('--dangerously-skip-permissions')).toBe(false);
    // One prompt word: the Ask's intent first, whatever it holds (it cannot become an option).
    expect(args.prompt).toHaveLength(1);
    expect(args.prompt[0]?.startsWith(intent)).toBe(true);
    const [configPath] = args.lists.get('--mcp-config') ?? [];
    const config = JSON.parse(run.mcpJson) as { mcpServers: Record<string, { command: string; args: string[] }> };
    expect(Object.keys(config.mcpServers)).toEqual(['lumenflow']);
    expect(config.mcpServers['lumenflow']).toMatchObject({ command: 'node', args: [expect.stringMatching(/bridge\.mjs$/), expect.stringMatching(/mcp\.sock$/)] });
    expect(configPath).toMatch(/mcp\.json$/);
    expect(run.bridgeExists).toBe(true);
    expect(session.agent).toMatchObject({ name: 'claude-code', network: { allow: ['api.anthropic.com:443'] }, commandDigest: expect.stringMatching(/^sha256:/) });
    // Its only way out is the egress proxy's directory, bound into its sandbox.
    expect(run.network).toEqual({ proxyDir: expect.stringMatching(/lumenflow-egress-/) });
  }, 60_000);

  test('Codex: exec, its own sandbox read-only, the lumenflow server as a config override that parses as TOML, approved, required, the intent as the prompt', async () => {
    const { run, intent, session } = await startPreset('codex');
    expect(run.program).toBe('codex');
    const args = parseCodexArgv(run.args);
    expect(args.sandbox).toBe('read-only');
    expect(args.flags).toEqual(new Set(['--skip-git-repo-check', '--ignore-user-config', '--ephemeral']));
    const server = (args.config['mcp_servers'] as Record<string, Record<string, unknown>>)['lumenflow'];
    const json = (JSON.parse(run.mcpJson) as { mcpServers: { lumenflow: { command: string; args: string[] } } }).mcpServers.lumenflow;
    // The same server as the JSON config names, in Codex's shape.
    expect(server).toEqual({ command: json.command, args: json.args, required: true, default_tools_approval_mode: 'approve' });
    expect(args.config['approval_policy']).toBe('never');
    expect(args.prompt).toHaveLength(1);
    expect(args.prompt[0]?.startsWith(intent)).toBe(true);
    expect(session.agent).toMatchObject({ name: 'codex', network: { allow: ['api.openai.com:443', 'chatgpt.com:443'] } });
  }, 60_000);

  test('docs/agents.md lists the same entries, and they load as a local rules file', async () => {
    const doc = await readFile(join(import.meta.dirname, '../docs/agents.md'), 'utf8');
    for (const [heading, name] of [['**Claude Code**', 'claude-code'], ['**Codex**', 'codex']] as const) {
      const after = doc.slice(doc.indexOf(heading));
      const yaml = /```yaml\n([\s\S]*?)```/.exec(after)?.[1] ?? '';
      const rules = parseRules(`version: 1\nrules: []\n${yaml}`, { fileName: 'agents.md.yaml', local: true });
      expect(rules.document.agents?.[name]).toEqual({ command: [...AGENT_PRESETS[name].command], network: AGENT_PRESETS[name].network });
    }
  });

  test('placeholders are replaced inside one word; a path with quotes stays one TOML string', () => {
    const argv = expandAgentCommand(['x', '--c={mcpConfig}', '-c', 's={mcpServerToml}', '{intent}'], {
      mcpConfig: '/a b/mcp.json',
      intent: '-x {mcpConfig}',
      server: { command: 'node', args: ['/p"q\\r/bridge.mjs', '/s'] },
    });
    expect(argv).toHaveLength(5);
    expect(argv[1]).toBe('--c=/a b/mcp.json');
    expect(parseTomlValue((argv[3] as string).slice(2))).toEqual({ command: 'node', args: ['/p"q\\r/bridge.mjs', '/s'] });
    // The intent is the last thing replaced into its own word: a placeholder inside it stays text.
    expect(argv[4]).toBe('-x {mcpConfig}');
  });
});
