/** Where in some input a problem is: a file, a 1-based line and column, a dotted path (`artifacts[3].sha256`). */
export interface ErrorLocation {
  file?: string;
  line?: number;
  column?: number;
  path?: string;
}

/**
 * The one skeleton of every package's error class: a literal `code` that
 * callers assert on (never the message), where the problem is when the input
 * was a document, and the original error as `cause`. Each package subclasses
 * it once with its own code union and name.
 */
export abstract class CodedError<Code extends string> extends Error {
  readonly code: Code;
  /** The file name, when the problem is in one. */
  readonly file: string | undefined;
  /** 1-based line and column of the problem, when the input was text. */
  readonly line: number | undefined;
  readonly column: number | undefined;
  /** Dotted path to the offending value (`artifacts[3].sha256`), when known. */
  readonly path: string | undefined;

  constructor(code: Code, message: string, options: ErrorLocation & { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.file = options.file;
    this.line = options.line;
    this.column = options.column;
    this.path = options.path;
  }
}
