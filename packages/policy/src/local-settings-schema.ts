import { z } from 'zod';
import { AgentNetworkSchema, IdSchema } from '@lumenflow/protocol';

// What a runtime's local rules file says besides its rules: the agents the
// runtime will start and the repositories it will work on (docs/agents.md).
// Only the local layer may carry them; a Cloud policy that names one is invalid.

/** One agent a runtime will start: a command line (argv, no shell) and its network (`none` when absent; protocol's AgentNetworkSchema). */
export const LocalAgentSchema = z.strictObject({
  // Argv, no shell; a word may be empty (Claude Code's `--tools ""`), the program may not.
  command: z
    .array(z.string().max(4096))
    .min(1)
    .max(256)
    .refine((argv) => argv[0] !== '', 'the program (first word) must not be empty'),
  network: AgentNetworkSchema.optional(),
  description: z.string().max(4000).optional(),
});

/**
 * Where the runtime gets a repository from: `path`, a git repository on this
 * machine (absolute), or `remote`, a URL git clones (https, ssh, `git@host:`
 * or file). Each session works on a fresh clone of the Ask's base branch.
 */
export const LocalRepositorySchema = z.union([
  z.strictObject({ path: z.string().min(1).max(4096).regex(/^\//, 'expected an absolute path'), description: z.string().max(4000).optional() }),
  z.strictObject({
    remote: z
      .string()
      .min(1)
      .max(4096)
      .regex(/^(?:https:\/\/|ssh:\/\/|file:\/\/|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:)[^\s]+$/, 'expected an https://, ssh://, file:// or user@host: git URL'),
    description: z.string().max(4000).optional(),
  }),
]);

/** A repository as an Ask names it (`workspace.repository`). */
export const RepositoryNameSchema = z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'expected owner/name');

/** An environment variable name as a shell writes it. */
export const EnvNameSchema = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'expected an environment variable name');

/** The local-only keys of a rules file. */
export const LocalSettingsShape = {
  /** Agents by the name an Ask asks for (`agent`); the built-in `scripted-calc-fixer` needs no entry. */
  agents: z.record(IdSchema, LocalAgentSchema).optional(),
  /** Repositories by the name an Ask gives (`workspace.repository`). */
  repositories: z.record(RepositoryNameSchema, LocalRepositorySchema).optional(),
  /**
   * The environment variables whose values the runtime holds as secrets and
   * redacts from all it sends (docs/secrets.md). Names, never values.
   */
  secretEnv: z.array(EnvNameSchema).max(256).optional(),
};

/** Keys only a runtime's local rules file may hold. */
export const LOCAL_ONLY_KEYS = Object.freeze(Object.keys(LocalSettingsShape)) as ReadonlyArray<keyof typeof LocalSettingsShape>;

export type LocalAgent = z.infer<typeof LocalAgentSchema>;
export type LocalRepository = z.infer<typeof LocalRepositorySchema>;
