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
export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  readonly code: PolicyErrorCode;
  /** The rules file name, when the problem is in one. */
  readonly file: string | undefined;
  /** 1-based line and column of the problem in that file. */
  readonly line: number | undefined;
  readonly column: number | undefined;
  /** Dotted path to the offending value (`rules[3].match.path`), when known. */
  readonly path: string | undefined;

  constructor(
    code: PolicyErrorCode,
    message: string,
    options: { file?: string; line?: number; column?: number; path?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.file = options.file;
    this.line = options.line;
    this.column = options.column;
    this.path = options.path;
  }
}
