import { z } from 'zod';
import { EffectSchema } from '@lumenflow/protocol';
import { LocalSettingsShape } from './local-settings-schema.js';

// The rules file format. Every object is strict: a misspelt key (`efect`)
// must stop the run, not silently drop the line that was meant to deny.

/** Ids in this namespace belong to the engine's own decisions; a file may not claim them. */
export const RESERVED_ID_PREFIX = 'policy.';

/** A stable dotted id, e.g. `org.secrets.production.deny-write`. */
export const RuleIdSchema = z
  .string()
  .max(128)
  .regex(
    /^[a-z0-9][a-z0-9_-]*(?:\.[a-z0-9][a-z0-9_-]*)+$/,
    'expected a dotted id of lowercase segments, e.g. org.secrets.production.deny-write',
  );

const PatternSchema = z.string().min(1).max(1024);

/** One shell argument: a literal, or an anchored regular expression for values that vary (a commit sha). */
export const ArgPatternSchema = z.union([
  z.string().max(4096),
  z.strictObject({ regex: z.string().min(1).max(256) }),
]);

export const RuleMatchSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.enum(['fs.read', 'fs.write']), path: PatternSchema }),
  z.strictObject({
    kind: z.literal('shell.exec'),
    program: z.string().min(1).max(1024),
    /** Omitted: any arguments. Present: exactly this many, each matching in order. */
    args: z.array(ArgPatternSchema).max(256).optional(),
  }),
  z.strictObject({ kind: z.enum(['secret.read', 'secret.write']), environment: PatternSchema, name: PatternSchema }),
  z.strictObject({ kind: z.literal('net.connect'), host: PatternSchema, port: z.number().int().min(1).max(65535).optional() }),
  z.strictObject({ kind: z.literal('pr.create'), repository: PatternSchema, base: PatternSchema }),
]);

export const RuleSchema = z.strictObject({
  id: RuleIdSchema,
  effect: EffectSchema,
  match: RuleMatchSchema,
  /** Written for the operator: shown when this rule decides. */
  // The operator reads this when the rule decides; whitespace alone explains nothing.
  reason: z.string().min(1).max(1000).regex(/\S/, 'the reason must say something'),
  description: z.string().max(4000).optional(),
});

/**
 * A rules file: `version: 1` and an ordered list of rules. A runtime's local
 * file may also name its agents and repositories (local-settings-schema.ts).
 */
export const RulesDocumentSchema = z.strictObject({
  version: z.literal(1),
  description: z.string().max(4000).optional(),
  rules: z.array(RuleSchema).max(100_000),
  ...LocalSettingsShape,
});

export type ArgPattern = z.infer<typeof ArgPatternSchema>;
export type RuleMatch = z.infer<typeof RuleMatchSchema>;
export type Rule = z.infer<typeof RuleSchema>;
export type RulesDocument = z.infer<typeof RulesDocumentSchema>;
