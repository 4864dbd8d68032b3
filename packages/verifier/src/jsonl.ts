import type { z } from 'zod';
import { ProtocolError, formatIssuePath, parseStrictJsonBytes } from '@lumenflow/protocol';

// One record is a few KiB; a longer "line" is either not JSONL or an attempt to
// make the verifier buffer an unbounded amount.
const MAX_LINE_BYTES = 1024 * 1024;

/**
 * Parses a JSONL proof file incrementally from the chunks being hashed, so it is
 * read once and memory stays bounded by one line. Each line must be strict JSON
 * matching `schema`; the first problem is kept as a message with its line number.
 * Blank lines are errors; the final newline may be absent.
 */
export class JsonlReader {
  lines = 0;
  bytes = 0;
  done = false;
  error: string | undefined;
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  /** `accept` validates one parsed line and returns a problem, or undefined when it is fine. */
  constructor(
    readonly fileName: string,
    private readonly accept: (value: unknown) => string | undefined,
  ) {}

  /** A reader whose lines must match `schema`; each valid record goes to `onRecord`. */
  static withSchema<T>(fileName: string, schema: z.ZodType<T>, onRecord: (record: T) => void): JsonlReader {
    return new JsonlReader(fileName, (value) => {
      const result = schema.safeParse(value);
      if (!result.success) {
        const issue = result.error.issues[0];
        return `${formatIssuePath(issue?.path ?? [])}: ${issue?.message ?? 'invalid'}`;
      }
      onRecord(result.data);
      return undefined;
    });
  }

  push(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    if (this.error) return;
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl === -1) break;
      this.take(chunk.subarray(start, nl));
      this.flushLine();
      if (this.error) return;
      start = nl + 1;
    }
    if (start < chunk.length) this.take(chunk.subarray(start));
  }

  end(): void {
    if (!this.error && this.pendingBytes > 0) this.flushLine();
    this.done = true;
  }

  private take(part: Uint8Array): void {
    if (this.pendingBytes + part.length > MAX_LINE_BYTES) {
      this.error = `${this.fileName} line ${this.lines + 1}: longer than ${MAX_LINE_BYTES} bytes`;
      return;
    }
    // Copy: the caller reuses its chunk buffer.
    this.pending.push(Buffer.from(part));
    this.pendingBytes += part.length;
  }

  private flushLine(): void {
    if (this.error) return;
    const line = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.lines++;
    if (line.length === 0) {
      this.error = `${this.fileName} line ${this.lines}: blank line`;
      return;
    }
    let value: unknown;
    try {
      value = parseStrictJsonBytes(line);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.error = `${this.fileName} line ${this.lines}: ${error.code}`;
      return;
    }
    const problem = this.accept(value);
    if (problem !== undefined) this.error = `${this.fileName} line ${this.lines}: ${problem}`;
  }
}
