import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { PullRequestOutputSchema } from '@lumenflow/protocol';

const UseEntrySchema = z.strictObject({
  approvalId: z.string().min(1),
  actionHash: z.string().min(1),
  state: z.enum(['started', 'done']),
  output: PullRequestOutputSchema.optional(),
  files: z.record(z.string(), z.string()).optional(),
});

/** One approval's use: claimed before anything is pushed, completed with what was done. */
export type UseEntry = z.infer<typeof UseEntrySchema>;

/**
 * Where approval uses persist, so that an approval is used once across
 * crashes, retries and restarts: one file per use key (`<runId>.<approvalId>`:
 * approval ids are unique within a Cloud's run, run ids across runs). A claim is created
 * with O_EXCL before anything leaves the machine; completion replaces it
 * atomically (write, fsync, rename).
 */
export interface PrUseLedger {
  read(approvalId: string): Promise<UseEntry | undefined>;
  /** Records the start of a use; returns the entry already there instead if there is one. */
  claim(approvalId: string, actionHash: string): Promise<UseEntry | undefined>;
  complete(entry: UseEntry): Promise<void>;
}

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,299}$/;

/** A ledger in a directory (Cloud's state directory, or `.lumenflow/pull-requests` for the demo). */
export function openPrUseLedger(dir: string): PrUseLedger {
  const path = (approvalId: string): string => {
    if (!SAFE_ID.test(approvalId) || approvalId.includes('..')) throw new RangeError(`approval id ${JSON.stringify(approvalId)} cannot name a ledger file`);
    return join(dir, `${approvalId.replaceAll(':', '_')}.json`);
  };
  const read = async (approvalId: string): Promise<UseEntry | undefined> => {
    let text: string;
    try {
      text = await readFile(path(approvalId), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    // A torn or edited entry still counts as a use: fail closed rather than push twice.
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
    const parsed = UseEntrySchema.safeParse(value);
    return parsed.success ? parsed.data : { approvalId, actionHash: 'unreadable', state: 'started' };
  };
  const writeAtomically = async (file: string, text: string, exclusive: boolean): Promise<boolean> => {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const target = exclusive ? file : `${file}.tmp-${process.pid}`;
    let handle;
    try {
      handle = await open(target, exclusive ? 'wx' : 'w', 0o600);
    } catch (error) {
      if (exclusive && (error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (!exclusive) await rename(target, file);
    return true;
  };
  return {
    read,
    async claim(approvalId, actionHash) {
      const entry: UseEntry = { approvalId, actionHash, state: 'started' };
      if (await writeAtomically(path(approvalId), `${JSON.stringify(entry)}\n`, true)) return undefined;
      return read(approvalId);
    },
    async complete(entry) {
      await writeAtomically(path(entry.approvalId), `${JSON.stringify(entry)}\n`, false);
    },
  };
}

