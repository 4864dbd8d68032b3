import { canonicalizeToBytes, computeSha256Digest, omitUndefined } from '@lumenflow/protocol';
import type { AgentInfo, AgentNetwork, Ask } from '@lumenflow/protocol';
import type { EgressSettings } from '../egress/index.js';
import { printable } from '../printable.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import type { WorkEnd } from '../tool-host/evidence.js';
import type { ToolHost } from '../tool-host/host.js';
import { runProcessAgent } from './process-agent.js';
import { SCRIPTED_AGENT_NAME } from './scripted-agent.js';
import { serveScriptedAgent } from './scripted-session.js';
import { buildInstructions } from './server.js';
import type { AgentClientInfo } from './server.js';

/**
 * Has the named agent do a session's work through `host`: the scripted agent
 * in memory, any other as a command line in the sandbox. Resolves with how the
 * work ended and the agent as the evidence names it.
 */
export async function runSessionAgent(opts: {
  host: ToolHost;
  ask: Ask;
  name: string;
  /** The command line of a process agent; absent for the scripted agent. */
  command?: readonly string[];
  /** A process agent's network in the sandbox (default `none`). */
  network?: AgentNetwork;
  sandbox: Sandbox;
  workspaceDir: string;
  tmpRoot?: string;
  toolTimeoutMs: number;
  signal: AbortSignal;
  /** How an allow-list's egress proxy runs (its log; tests' options). */
  egress?: EgressSettings;
}): Promise<{ end: WorkEnd; agent: AgentInfo }> {
  const instructions = buildInstructions(opts.ask);
  let client: AgentClientInfo | undefined;
  // Bounded, printable, never empty: a hostile client may send anything at initialize.
  const onClient = (info: AgentClientInfo): void => {
    client = { name: printable(info.name, 200) || '(none)', version: printable(info.version, 100) || '(none)' };
  };
  const processAgent = opts.command !== undefined && opts.name !== SCRIPTED_AGENT_NAME;
  // Without a sandbox the agent runs in the host's network namespace, whatever its entry says.
  const network: AgentNetwork = opts.sandbox.info.kind === 'none' ? 'host' : (opts.network ?? 'none');
  const { end, egress } =
    !processAgent || opts.command === undefined
      ? { end: await serveScriptedAgent(opts.host, { instructions, toolTimeoutMs: opts.toolTimeoutMs, onClient }), egress: undefined }
      : await runProcessAgent(opts.host, {
          command: opts.command,
          network,
          instructions,
          sandbox: opts.sandbox,
          workspaceDir: opts.workspaceDir,
          ...omitUndefined({ tmpRoot: opts.tmpRoot, egress: opts.egress }),
          signal: opts.signal,
          onClient,
        });
  const agent: AgentInfo = {
    name: opts.name,
    ...(opts.command === undefined ? {} : { commandDigest: computeSha256Digest(canonicalizeToBytes([...opts.command])) }),
    ...(processAgent ? { network } : {}),
    ...omitUndefined({ egress, client }),
    // Taken once the agent is stopped and its connection closed: nothing is served after that.
    ...(opts.host.callsAfterEnd > 0 ? { callsAfterEnd: opts.host.callsAfterEnd } : {}),
  };
  return { end, agent };
}
