import { parseStrictJson } from '@lumenflow/protocol';
import type { DispatchBody, WorkItem } from '@lumenflow/protocol';
import type { ServerContext } from './server-context.js';

/**
 * One pass of the sweep: runtimes' liveness written and read back, claims whose
 * lease ran out failed (each taken by exactly one Cloud, SKIP LOCKED) and sent
 * again as the next attempt while attempts remain, stale nonces dropped.
 */
export async function sweepOnce(ctx: ServerContext): Promise<void> {
  const now = ctx.nowMs();
  const { lost, back } = await ctx.runtimes.sync(now);
  for (const runtimeId of lost) ctx.log('runtime.lost', { runtimeId });
  for (const runtimeId of back) ctx.log('runtime.back', { runtimeId });
  for (;;) {
    const expired = await ctx.store.expireLeases(now, 100);
    for (const row of expired) {
      ctx.log('work.ended', { workId: row.workId, state: row.state, outcome: row.outcome, ...(row.claim ?? {}) });
      ctx.announceWorkEnded(row);
      const opened = decodeDispatch(row.item);
      if (row.claim !== null && row.claim.attempt < ctx.maxAttempts && opened?.message.type === 'session.open') {
        // The next attempt is counted by the store; a session whose Ask was taken over meanwhile is refused there.
        await ctx.dispatch(row.runtimeId, opened.message).catch((error: unknown) => {
          ctx.log('work.redispatch-failed', { workId: row.workId, message: error instanceof Error ? error.message : String(error) });
        });
      }
    }
    if (expired.length < 100) break;
  }
  await ctx.store.pruneNonces(now);
}

/** Parses the signed body of a work item without checking the signature (Cloud re-reads its own dispatches). */
function decodeDispatch(item: WorkItem): DispatchBody | undefined {
  try {
    return parseStrictJson(Buffer.from(item.payload, 'base64').toString('utf8')) as unknown as DispatchBody;
  } catch {
    return undefined;
  }
}
