import type { AgentNetwork } from '@lumenflow/protocol';

/**
 * Placeholders an agent's command line may carry (docs/agents.md). Each is
 * replaced inside one argv word (no shell, nothing split), so an Ask's intent
 * can never become a second argument.
 *
 * - `{mcpConfig}`: the path of the session's MCP configuration (`mcpServers` JSON).
 * - `{intent}`: the Ask's intent with where to work and how to end (the MCP server's `instructions`).
 * - `{mcpServerToml}`: the same stdio server as a TOML inline table, for clients
 *   that take servers as config overrides (Codex's `-c mcp_servers.<name>=…`).
 */
export const AGENT_PLACEHOLDERS = Object.freeze({ mcpConfig: '{mcpConfig}', intent: '{intent}', mcpServerToml: '{mcpServerToml}' });

/** The values a session puts into an agent's command line. */
export interface AgentCommandValues {
  mcpConfig: string;
  intent: string;
  server: { command: string; args: readonly string[] };
}

/** The argv an agent runs with: every placeholder replaced in place. Pure. */
export function expandAgentCommand(command: readonly string[], values: AgentCommandValues): string[] {
  const table = `{ command = ${tomlString(values.server.command)}, args = [${values.server.args.map(tomlString).join(', ')}] }`;
  const replace = (word: string): string =>
    word
      .split(AGENT_PLACEHOLDERS.mcpConfig)
      .map((part) => part.split(AGENT_PLACEHOLDERS.mcpServerToml).map((p) => p.split(AGENT_PLACEHOLDERS.intent).join(values.intent)).join(table))
      .join(values.mcpConfig);
  return command.map(replace);
}

/** A TOML basic string: quotes, backslashes and control characters escaped. */
export function tomlString(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (code < 0x20 || code === 0x7f) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** A ready-made local rules file entry for a known agent. */
export interface AgentPreset {
  readonly command: readonly string[];
  readonly network: AgentNetwork;
  readonly description: string;
}

/**
 * Entries for two real agents, as a runtime's local rules file would name them
 * (docs/agents.md lists the same). Both need their model's API, so their
 * network is an allow-list of its host (an agent must honour HTTPS_PROXY); neither
 * gets a write or shell tool of its own.
 */
export const AGENT_PRESETS: Readonly<Record<'claude-code' | 'codex', AgentPreset>> = Object.freeze({
  'claude-code': {
    command: [
      'claude',
      '--print',
      '--mcp-config',
      AGENT_PLACEHOLDERS.mcpConfig,
      '--strict-mcp-config',
      // No built-in tools at all (its own Bash, Edit, Write, Read…); the governed ones are MCP tools.
      '--tools',
      '',
      '--allowedTools',
      'mcp__lumenflow',
      '--disallowedTools',
      'Bash,Edit,MultiEdit,Write,NotebookEdit,WebFetch,WebSearch',
      // Anything not allowed above is refused rather than asked about: nobody is there to answer.
      '--permission-mode',
      'dontAsk',
      '--',
      AGENT_PLACEHOLDERS.intent,
    ],
    // The API only: its telemetry and error reports (statsig.anthropic.com, sentry.io) are refused and tallied.
    network: { allow: ['api.anthropic.com:443'] },
    description: 'Claude Code, headless, with only the governed tools (mcp__lumenflow__*).',
  },
  codex: {
    command: [
      'codex',
      'exec',
      '--sandbox',
      'read-only',
      '--skip-git-repo-check',
      '--ignore-user-config',
      '--ephemeral',
      '-c',
      `mcp_servers.lumenflow=${AGENT_PLACEHOLDERS.mcpServerToml}`,
      '-c',
      'mcp_servers.lumenflow.required=true',
      // Codex cancels a side-effecting MCP call it would have to ask about; the runtime's Rules judge each one.
      '-c',
      'mcp_servers.lumenflow.default_tools_approval_mode="approve"',
      '-c',
      'approval_policy="never"',
      '--',
      AGENT_PLACEHOLDERS.intent,
    ],
    // The API with a key, and ChatGPT's backend when it is signed in with a ChatGPT account.
    network: { allow: ['api.openai.com:443', 'chatgpt.com:443'] },
    description: 'Codex, non-interactive, its own sandbox read-only; the governed tools come from the lumenflow MCP server.',
  },
});
