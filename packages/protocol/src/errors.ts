/**
 * Stable codes for malformed input to the shared formats. Callers assert on
 * `code`, never on `message`.
 */
export type ProtocolErrorCode =
  | 'JSON_SYNTAX'
  | 'JSON_DUPLICATE_KEY'
  | 'JSON_UNSAFE_NUMBER'
  | 'JSON_LONE_SURROGATE'
  | 'JSON_BOM'
  | 'JSON_NOT_CANONICALIZABLE'
  | 'SCHEMA_INVALID'
  | 'TRANSPORT_CLOSED';

/** Bad input to a protocol format. Carries a literal code and, for JSON, a position. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly code: ProtocolErrorCode;
  /** 1-based line and column of the problem, when the input was text. */
  readonly line: number | undefined;
  readonly column: number | undefined;
  /** Dotted path to the offending value (`artifacts[3].sha256`), when known. */
  readonly path: string | undefined;

  constructor(
    code: ProtocolErrorCode,
    message: string,
    options: { line?: number; column?: number; path?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.line = options.line;
    this.column = options.column;
    this.path = options.path;
  }
}
