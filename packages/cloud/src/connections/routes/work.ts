import { MAX_LONG_POLL_MS } from '@lumenflow/protocol';
import type { ServerContext } from '../server-context.js';
import { fail } from './route-kit.js';
import type { Reply, RouteContext } from './route-kit.js';

/** `GET /v1/work?after=<seq>&wait=<ms>`: the runtime's dispatches after `after`, held open until one arrives. */
export async function pollWorkRoute(ctx: ServerContext, req: RouteContext): Promise<Reply> {
  const after = Number(req.query.get('after') ?? '0');
  const wait = Number(req.query.get('wait') ?? '0');
  if (!Number.isSafeInteger(after) || after < 0 || !Number.isSafeInteger(wait) || wait < 0) return fail(400, 'SCHEMA_INVALID', 'after and wait must be non-negative integers');
  // Registered before the read: a dispatch committed in between still wakes this poll.
  const waiter = ctx.waiters.register(req.runtimeId);
  let items = await ctx.store.pollWork(req.runtimeId, after, 100);
  if (items.length === 0 && wait > 0) {
    // Before the answer is written, a closed response means the runtime's connection dropped.
    const onClose = (): void => {
      if (!req.res.writableEnded) ctx.runtimes.dropped(req.runtimeId, ctx.nowMs());
      waiter.wakeNow();
    };
    req.res.once('close', onClose);
    await waiter.wait(Math.min(wait, MAX_LONG_POLL_MS));
    req.res.removeListener('close', onClose);
    if (req.res.destroyed) return { status: 200, body: { items: [] } };
    items = await ctx.store.pollWork(req.runtimeId, after, 100);
  } else {
    waiter.cancel();
  }
  if (items.length > 0) ctx.log('work.delivered', { runtimeId: req.runtimeId, workIds: items.map((i) => i.workId) });
  return { status: 200, body: { items } };
}
