import { ClaimRequestSchema, LeaseRenewRequestSchema } from '@lumenflow/protocol';
import type { ServerContext } from '../server-context.js';
import { fail, parseBody } from './route-kit.js';
import type { Reply, RouteContext } from './route-kit.js';

/** `POST /v1/claims`: a lease on one (Ask, attempt); the same runtime claiming again gets the lease it holds. */
export async function claimRoute(ctx: ServerContext, req: RouteContext): Promise<Reply> {
  const parsed = parseBody(req.body, ClaimRequestSchema);
  if (!parsed.ok) return parsed.reply;
  const c = parsed.value;
  const outcome = await ctx.store.claimWork({ runtimeId: req.runtimeId, workId: c.workId, askId: c.askId, attempt: c.attempt, nowMs: ctx.nowMs(), leaseMs: ctx.leaseMs, leaseId: ctx.newId('lease') });
  if (!outcome.ok) return fail(outcome.code === 'WORK_UNKNOWN' ? 404 : 409, outcome.code, outcome.message);
  if (outcome.status === 201) ctx.log('work.claimed', { workId: c.workId, runtimeId: req.runtimeId, askId: c.askId, attempt: c.attempt });
  return { status: outcome.status, body: { leaseId: outcome.leaseId, expiresAt: new Date(outcome.expiresMs).toISOString() } };
}

/** `POST /v1/leases`: renews a live lease, or LEASE_LOST: stop the work. */
export async function renewLeaseRoute(ctx: ServerContext, req: RouteContext): Promise<Reply> {
  const parsed = parseBody(req.body, LeaseRenewRequestSchema);
  if (!parsed.ok) return parsed.reply;
  const r = parsed.value;
  const expiresMs = await ctx.store.renewLease({ runtimeId: req.runtimeId, askId: r.askId, attempt: r.attempt, leaseId: r.leaseId, nowMs: ctx.nowMs(), leaseMs: ctx.leaseMs });
  if (expiresMs === undefined) return fail(409, 'LEASE_LOST', 'the lease is not held; stop the work');
  return { status: 200, body: { expiresAt: new Date(expiresMs).toISOString() } };
}
