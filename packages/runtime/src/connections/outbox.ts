import { readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { EvidenceRecordSchema, parseStrictJson } from '@lumenflow/protocol';
import type { EvidenceRecord } from '@lumenflow/protocol';
import { makeDirectories, writeFileAtomic } from '@lumenflow/verifier';

/** Evidence waiting for Cloud's acknowledgement, on disk, in the order it was made. */
export interface Outbox {
  /** Stores a record durably; once this resolves the record survives a crash. */
  put(record: EvidenceRecord): Promise<void>;
  /** Up to `max` records, oldest first. */
  peek(max: number): EvidenceRecord[];
  /** Drops acknowledged records. */
  ack(recordIds: readonly string[]): Promise<void>;
  /** Moves refused records aside (`rejected/`), kept for inspection and never resent. */
  reject(recordIds: readonly string[]): Promise<void>;
  size(): number;
}

interface Entry {
  file: string;
  record: EvidenceRecord;
}

/**
 * Opens (or creates) an outbox directory. Files are `<seq>-<recordId>.json`,
 * so a restart reads them back in the order they were made; a file that does
 * not parse is moved to `rejected/` rather than sent or silently dropped.
 */
export async function openOutbox(dir: string): Promise<Outbox> {
  await makeDirectories(dir, 0o700);
  const entries: Entry[] = [];
  let seq = 0;
  const names = (await readdir(dir)).filter((n) => /^\d{12}-.+\.json$/.test(n)).sort();
  for (const name of names) {
    seq = Math.max(seq, Number(name.slice(0, 12)));
    try {
      const parsed = EvidenceRecordSchema.safeParse(parseStrictJson(await readFile(join(dir, name), 'utf8')));
      if (parsed.success) {
        entries.push({ file: name, record: parsed.data });
        continue;
      }
    } catch {
      // fall through: unreadable
    }
    await moveAside(dir, name);
  }
  const remove = async (ids: readonly string[], how: 'ack' | 'reject'): Promise<void> => {
    const wanted = new Set(ids);
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i] as Entry;
      if (!wanted.has(entry.record.recordId)) continue;
      entries.splice(i, 1);
      if (how === 'ack') await unlink(join(dir, entry.file)).catch(() => undefined);
      else await moveAside(dir, entry.file);
    }
  };
  return {
    put: async (record) => {
      seq += 1;
      const file = `${String(seq).padStart(12, '0')}-${record.recordId}.json`;
      await writeFileAtomic(join(dir, file), `${JSON.stringify(record)}\n`);
      entries.push({ file, record });
    },
    peek: (max) => entries.slice(0, max).map((e) => e.record),
    ack: (ids) => remove(ids, 'ack'),
    reject: (ids) => remove(ids, 'reject'),
    size: () => entries.length,
  };
}

async function moveAside(dir: string, name: string): Promise<void> {
  await makeDirectories(join(dir, 'rejected'), 0o700);
  await rename(join(dir, name), join(dir, 'rejected', name));
}
