import { SIGNING_PURPOSES, canonicalizeToBytes } from '@lumenflow/protocol';
import type { ClaimRef, CloudToRuntimeMessage, DispatchBody, WorkItem } from '@lumenflow/protocol';
import type { ServerContext, WorkSummary } from './server-context.js';
import { rememberSessionOwner, summariseWork } from './server-context.js';

/**
 * Queues a signed dispatch for one runtime. The sequence number is taken inside
 * the store's transaction (under the runtime's row lock) and signed with the
 * body, so sequence numbers become visible in order even with several Clouds.
 * A `session.open` carries a claim on (askId, attempt); a `runtime.enrolled`
 * answers one runtime message once, whichever Cloud answers it.
 *
 * @throws {RangeError} for an unknown runtime, an (Ask, attempt) already dispatched, or a
 *   session whose Ask was taken over by another run (it is not opened or started again).
 */
export async function dispatchWork(ctx: ServerContext, runtimeId: string, message: CloudToRuntimeMessage, opts: { attempt?: number } = {}): Promise<WorkSummary> {
  const row = await ctx.store.insertWork(runtimeId, async (seq, nextAttempt) => {
    const claim: ClaimRef | null = message.type === 'session.open' ? { askId: message.ask.askId, attempt: opts.attempt ?? (await nextAttempt(message.ask.askId)) } : null;
    const workId = ctx.newId('work');
    const createdMs = ctx.nowMs();
    const body: DispatchBody = { purpose: SIGNING_PURPOSES.dispatch, workId, seq, runtimeId, claim, issuedAt: new Date(createdMs).toISOString(), message };
    const bytes = canonicalizeToBytes(body);
    const item: WorkItem = {
      workId,
      seq,
      claim,
      payload: Buffer.from(bytes).toString('base64'),
      signature: { keyId: ctx.signingKey.keyId, value: Buffer.from(ctx.signingKey.sign(bytes)).toString('base64') },
    };
    return {
      workId,
      claim,
      sessionId: message.type === 'session.open' ? message.sessionId : null,
      replyTo: message.type === 'runtime.enrolled' ? message.inReplyTo : null,
      item,
      createdMs,
      // A stale Cloud must not start a session whose Ask another Cloud took over.
      ...(message.type === 'session.start' ? { controlSession: message.sessionId } : {}),
    };
  });
  if (row.sessionId !== null && row.claim !== null) rememberSessionOwner(ctx, row.sessionId, row.runtimeId);
  ctx.log('work.dispatched', { workId: row.workId, runtimeId, type: message.type, ...(row.claim ?? {}) });
  // The commit's NOTIFY wakes every Cloud's long-polls; this one's own need not wait for it.
  ctx.waiters.wake(runtimeId);
  return summariseWork(row);
}
