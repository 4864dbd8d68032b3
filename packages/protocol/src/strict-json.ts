import type { JsonValue } from './canonical-json.js';
import { ProtocolError } from './errors.js';

/**
 * Parses RFC 8259 JSON text strictly, for documents an attacker may have written.
 *
 * Unlike `JSON.parse`, which silently keeps the last of duplicate keys, this
 * rejects them: two readers must never see two different documents in one file.
 * It also rejects a byte-order mark, integers outside ±(2^53 − 1) (they would
 * silently lose precision), and `\u` escapes that leave a lone surrogate.
 *
 * @throws {ProtocolError} JSON_SYNTAX, JSON_DUPLICATE_KEY, JSON_UNSAFE_NUMBER,
 *   JSON_LONE_SURROGATE or JSON_BOM, with the 1-based line and column.
 */
export function parseStrictJson(text: string): JsonValue {
  if (text.charCodeAt(0) === 0xfeff) {
    throw new ProtocolError('JSON_BOM', 'JSON text starts with a byte-order mark', { line: 1, column: 1 });
  }
  return new StrictParser(text).parseDocument();
}

/**
 * Where the value at `path` (zod-style segments: keys and array indexes) starts
 * in JSON text, as the strict parser reads it: 1-based line and column. For a
 * path that is not in the document, where the deepest value on it that is
 * starts (for a missing key, its object).
 *
 * @throws {ProtocolError} as parseStrictJson, when the text is not strict JSON.
 */
export function locateStrictJsonPath(text: string, path: ReadonlyArray<string | number>): { line: number; column: number } {
  if (text.charCodeAt(0) === 0xfeff) {
    throw new ProtocolError('JSON_BOM', 'JSON text starts with a byte-order mark', { line: 1, column: 1 });
  }
  const parser = new StrictParser(text, path);
  parser.parseDocument();
  return lineColumn(text, parser.located);
}

function lineColumn(text: string, at: number): { line: number; column: number } {
  let line = 1;
  let column = 1;
  for (let i = 0; i < at && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      column = 1;
    } else {
      column++;
    }
  }
  return { line, column };
}

/**
 * Decodes UTF-8 bytes and parses them with {@link parseStrictJson}. Invalid
 * UTF-8 is a syntax error, not a silent U+FFFD.
 *
 * @throws {ProtocolError} as parseStrictJson, plus JSON_SYNTAX for invalid UTF-8.
 */
export function parseStrictJsonBytes(bytes: Uint8Array): JsonValue {
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch (cause) {
    throw new ProtocolError('JSON_SYNTAX', 'JSON text is not valid UTF-8', { cause });
  }
  return parseStrictJson(text);
}

// Deep nesting is a cheap way to blow the stack of a recursive parser.
const MAX_DEPTH = 256;
const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
// Non-streaming decode() keeps no state between calls, so one decoder serves every call.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

class StrictParser {
  private pos = 0;
  /** With a target path: where the deepest value on that path starts. */
  located = 0;
  constructor(
    private readonly text: string,
    private readonly target?: ReadonlyArray<string | number>,
  ) {}

  parseDocument(): JsonValue {
    this.skipWhitespace();
    const value = this.parseValue('$', 0, this.target !== undefined);
    this.skipWhitespace();
    if (!this.atEnd()) this.fail('JSON_SYNTAX', 'unexpected text after the JSON value');
    return value;
  }

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  skipWhitespace(): void {
    while (this.pos < this.text.length) {
      const c = this.text[this.pos];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') this.pos++;
      else break;
    }
  }

  fail(code: ConstructorParameters<typeof ProtocolError>[0], message: string, at = this.pos): never {
    const { line, column } = lineColumn(this.text, at);
    throw new ProtocolError(code, `${message} at line ${line}, column ${column}`, { line, column });
  }

  // `onTarget`: this value's path is the first `depth` segments of the target path.
  private parseValue(path: string, depth: number, onTarget = false): JsonValue {
    if (depth > MAX_DEPTH) this.fail('JSON_SYNTAX', `nesting deeper than ${MAX_DEPTH}`);
    if (onTarget) this.located = this.pos;
    const c = this.text[this.pos];
    if (c === '{') return this.parseObject(path, depth, onTarget);
    if (c === '[') return this.parseArray(path, depth, onTarget);
    if (c === '"') return this.parseString();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.parseNumber();
    if (this.text.startsWith('true', this.pos)) {
      this.pos += 4;
      return true;
    }
    if (this.text.startsWith('false', this.pos)) {
      this.pos += 5;
      return false;
    }
    if (this.text.startsWith('null', this.pos)) {
      this.pos += 4;
      return null;
    }
    return this.fail('JSON_SYNTAX', c === undefined ? 'unexpected end of JSON text' : `unexpected character ${JSON.stringify(c)}`);
  }

  private parseObject(path: string, depth: number, onTarget: boolean): { [key: string]: JsonValue } {
    this.pos++; // {
    const result: { [key: string]: JsonValue } = {};
    const seen = new Set<string>();
    this.skipWhitespace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return result;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.pos] !== '"') this.fail('JSON_SYNTAX', 'expected a string key');
      const keyAt = this.pos;
      const key = this.parseString();
      if (seen.has(key)) this.fail('JSON_DUPLICATE_KEY', `duplicate key ${JSON.stringify(key)} in ${path}`, keyAt);
      seen.add(key);
      this.skipWhitespace();
      if (this.text[this.pos] !== ':') this.fail('JSON_SYNTAX', 'expected ":"');
      this.pos++;
      this.skipWhitespace();
      const value = this.parseValue(`${path}.${key}`, depth + 1, onTarget && this.target?.[depth] === key);
      // defineProperty, so that a "__proto__" key is data and never a prototype.
      Object.defineProperty(result, key, { value, enumerable: true, writable: true, configurable: true });
      this.skipWhitespace();
      const c = this.text[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === '}') {
        this.pos++;
        return result;
      }
      this.fail('JSON_SYNTAX', 'expected "," or "}"');
    }
  }

  private parseArray(path: string, depth: number, onTarget: boolean): JsonValue[] {
    this.pos++; // [
    const result: JsonValue[] = [];
    this.skipWhitespace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return result;
    }
    for (;;) {
      this.skipWhitespace();
      result.push(this.parseValue(`${path}[${result.length}]`, depth + 1, onTarget && this.target?.[depth] === result.length));
      this.skipWhitespace();
      const c = this.text[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === ']') {
        this.pos++;
        return result;
      }
      this.fail('JSON_SYNTAX', 'expected "," or "]"');
    }
  }

  private parseString(): string {
    const start = this.pos;
    this.pos++; // opening quote
    let out = '';
    for (;;) {
      // Copy each run of plain characters in one slice; per-character appends
      // made long JSONL proof files slow to verify.
      const runStart = this.pos;
      let c = this.text.charCodeAt(this.pos);
      while (this.pos < this.text.length && c !== 0x22 && c !== 0x5c && c >= 0x20) c = this.text.charCodeAt(++this.pos);
      if (this.pos > runStart) out += this.text.slice(runStart, this.pos);
      if (this.pos >= this.text.length) this.fail('JSON_SYNTAX', 'unterminated string', start);
      if (c === 0x22) {
        this.pos++;
        break;
      }
      if (c < 0x20) this.fail('JSON_SYNTAX', 'unescaped control character in string');
      const esc = this.text[this.pos + 1];
      this.pos += 2;
      switch (esc) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          const hex = this.text.slice(this.pos, this.pos + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('JSON_SYNTAX', 'bad \\u escape', this.pos - 2);
          out += String.fromCharCode(parseInt(hex, 16));
          this.pos += 4;
          break;
        }
        default:
          this.fail('JSON_SYNTAX', 'bad escape', this.pos - 2);
      }
    }
    if (!out.isWellFormed()) this.fail('JSON_LONE_SURROGATE', 'string holds a lone surrogate', start);
    return out;
  }

  private parseNumber(): number {
    const start = this.pos;
    // Sticky, on the whole text: a fixed-size window would split a long but valid number.
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (!match) return this.fail('JSON_SYNTAX', 'malformed number');
    this.pos += match[0].length;
    const value = Number(match[0]);
    if (!Number.isFinite(value)) this.fail('JSON_UNSAFE_NUMBER', 'number out of range', start);
    const isIntegerLiteral = match[1] === undefined && match[2] === undefined;
    if (isIntegerLiteral && !Number.isSafeInteger(value)) {
      this.fail('JSON_UNSAFE_NUMBER', 'integer outside ±(2^53 − 1) would lose precision', start);
    }
    return value;
  }
}
