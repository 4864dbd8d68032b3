import { CodedError } from '@lumenflow/protocol';

/**
 * Stable codes for bad Rules input. Callers assert on `code`, never on `message`.
 *
 * - RULES_IO: the rules file could not be read.
 * - RULES_FORMAT: the file name has no known extension (.json, .yaml, .yml).
 * - RULES_SYNTAX: the text is not well-formed JSON/YAML.
 * - RULES_DUPLICATE_KEY: a mapping names the same key twice.
 * - RULES_INVALID: the document does not match the rules schema.
 * - RULES_DUPLICATE_ID: two rules share an id.
 * - RULES_RESERVED_ID: a rule uses an id in the reserved `policy.` namespace.
 * - RULES_BAD_PATTERN: a glob or argument regex does not compile.
 * - SCOPE_INVALID: a scope string or object is malformed.
 */
export type PolicyErrorCode =
  | 'RULES_IO'
  | 'RULES_FORMAT'
  | 'RULES_SYNTAX'
  | 'RULES_DUPLICATE_KEY'
  | 'RULES_INVALID'
  | 'RULES_DUPLICATE_ID'
  | 'RULES_RESERVED_ID'
  | 'RULES_BAD_PATTERN'
  | 'SCOPE_INVALID';

/** Bad rules or scope input. Carries a literal code and, for rules files, where the problem is. */
export class PolicyError extends CodedError<PolicyErrorCode> {
  override readonly name = 'PolicyError';
}
