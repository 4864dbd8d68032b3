import { canonicalize } from '@lumenflow/protocol';

/** A JSON proof file: the RFC 8785 key order, indented for people, one trailing newline. */
export function formatJsonFile(value: unknown): string {
  return `${JSON.stringify(JSON.parse(canonicalize(value)), null, 2)}\n`;
}

/** A JSONL proof file: one RFC 8785 line per record; no records is zero bytes. */
export function formatJsonLines(records: readonly unknown[]): string {
  return records.map((r) => `${canonicalize(r)}\n`).join('');
}
