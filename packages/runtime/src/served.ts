import type { AgentNetwork, Ask } from '@lumenflow/protocol';
import type { RuleSet } from '@lumenflow/policy';
import { RuntimeError } from './errors.js';
import { SCRIPTED_AGENT_NAME } from './mcp/scripted-agent.js';
import { holdsRepository } from './checkout.js';
import { readServedRepository } from './repository.js';

/** An agent the runtime will start: its command line and its network in the sandbox. */
export interface AgentEntry {
  readonly command: readonly string[];
  readonly network: AgentNetwork;
}

/** Where a session's workspace comes from. */
export type RepositorySource =
  /** A plain directory of files (the bundled fixture), copied into a new repository with one baseline commit. Never a git repository. */
  | { readonly kind: 'copy'; readonly dir: string }
  /** A fresh clone of the Ask's base branch of a local git repository. */
  | { readonly kind: 'checkout'; readonly dir: string }
  /** A fresh clone of the Ask's base branch of a remote repository. */
  | { readonly kind: 'remote'; readonly url: string };

/**
 * The agents a runtime knows: those its local rules file names (`agents`),
 * plus any its embedding program registers (the demo's `--agent`). The
 * built-in scripted agent needs no entry.
 *
 * @throws {RangeError} when a registered name is also in the file or is the scripted agent's.
 */
export function collectAgents(localRules: RuleSet | undefined, registered: Readonly<Record<string, { command: readonly string[]; network?: AgentNetwork }>> = {}): ReadonlyMap<string, AgentEntry> {
  const agents = new Map<string, AgentEntry>();
  for (const [name, entry] of Object.entries(localRules?.document.agents ?? {})) agents.set(name, { command: [...entry.command], network: entry.network ?? 'none' });
  for (const [name, entry] of Object.entries(registered)) {
    if (agents.has(name) || name === SCRIPTED_AGENT_NAME) throw new RangeError(`createRuntime: agent ${name} is named twice`);
    if (entry.command.length === 0) throw new RangeError(`createRuntime: agent ${name} has an empty command line`);
    agents.set(name, { command: [...entry.command], network: entry.network ?? 'none' });
  }
  return agents;
}

/**
 * The agent an Ask asks for, or the refusal: a runtime never runs a stand-in.
 * `undefined` is the built-in scripted agent.
 *
 * @throws {RuntimeError} AGENT_UNKNOWN.
 */
export function resolveAgent(agents: ReadonlyMap<string, AgentEntry>, name: string): AgentEntry | undefined {
  if (name === SCRIPTED_AGENT_NAME) return undefined;
  const entry = agents.get(name);
  if (entry === undefined) throw new RuntimeError('AGENT_UNKNOWN', `the Ask asks for agent ${name}; this runtime knows ${[SCRIPTED_AGENT_NAME, ...agents.keys()].join(', ')}`);
  return entry;
}

/**
 * Where the Ask's repository comes from: the local rules file's
 * `repositories` entry for it, else the runtime's own workspace when that
 * holds the repository (its `repository` option, or its `origin` remote).
 * The runtime's own workspace is checked out when it holds a git repository
 * (always, whatever `workspaceSource` says) or when `workspaceSource` is
 * `checkout` (then a directory that is not one is refused with REPO_NOT_GIT);
 * only a plain directory of files is copied.
 *
 * @throws {RuntimeError} REPOSITORY_NOT_SERVED.
 */
export async function resolveRepository(
  ask: Ask,
  opts: { localRules: RuleSet | undefined; fixtureDir: string; workspaceSource: 'auto' | 'checkout'; repository: string | undefined },
): Promise<RepositorySource> {
  const name = ask.workspace.repository;
  const configured = opts.localRules?.document.repositories ?? {};
  if (Object.hasOwn(configured, name)) {
    const entry = configured[name];
    if (entry !== undefined) return 'path' in entry ? { kind: 'checkout', dir: entry.path } : { kind: 'remote', url: entry.remote };
  }
  const served = opts.repository ?? (await readServedRepository(opts.fixtureDir));
  if (served === name) {
    const checkout = opts.workspaceSource === 'checkout' || (await holdsRepository(opts.fixtureDir));
    return { kind: checkout ? 'checkout' : 'copy', dir: opts.fixtureDir };
  }
  const known = [...Object.keys(configured), ...(served === undefined ? [] : [served])];
  throw new RuntimeError(
    'REPOSITORY_NOT_SERVED',
    known.length === 0
      ? `the Ask is for ${name}, and this runtime serves no repository (no local repositories entry, and its workspace has no origin remote)`
      : `the Ask is for ${name}; this runtime serves ${known.join(', ')}`,
  );
}
