import { z } from 'zod';
import { AskSchema } from '@lumenflow/protocol';
import { CloudError } from '../../errors.js';
import type { OperatorApi } from '../operator-api.js';
import { fail, parseBody } from './route-kit.js';
import type { Reply, Route, RouteContext } from './route-kit.js';

// The operator's HTTP API on `cloud serve`: the same operations as the store-side
// OperatorApi, behind the data directory's operator token (http-adapter checks it
// before a byte of the body is read).

const TokenRequestSchema = z.strictObject({ ttlMs: z.number().int().positive().max(7 * 24 * 3_600_000).optional() });
const AskRequestSchema = z.strictObject({ ask: AskSchema });
// The answer itself is checked by the API (APPROVAL_INVALID), as on the store path.
const AnswerRequestSchema = z.strictObject({ approvalId: z.string().min(1).max(200), answer: z.record(z.string(), z.unknown()) });

async function coded(fn: () => Promise<Reply>): Promise<Reply> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof CloudError) return fail(400, error.code, error.message);
    if (error instanceof RangeError) return fail(400, 'SCHEMA_INVALID', error.message);
    throw error;
  }
}

export function operatorRoutes(api: OperatorApi): Record<string, Route> {
  return {
    'POST /v1/operator/enroll-tokens': (req: RouteContext) =>
      coded(async () => {
        const parsed = parseBody(req.body, TokenRequestSchema);
        if (!parsed.ok) return parsed.reply;
        return { status: 201, body: await api.createEnrollToken(parsed.value.ttlMs) };
      }),
    'POST /v1/operator/asks': (req) =>
      coded(async () => {
        const parsed = parseBody(req.body, AskRequestSchema);
        if (!parsed.ok) return parsed.reply;
        return { status: 200, body: { created: await api.submitAsk(parsed.value.ask) } };
      }),
    'GET /v1/operator/asks': (req) =>
      coded(async () => {
        const outcome = await api.readAskOutcome(req.query.get('id') ?? '');
        return { status: 200, body: { outcome: outcome ?? null } };
      }),
    'GET /v1/operator/approvals': (req) =>
      coded(async () => {
        const id = req.query.get('id');
        if (id !== null) return { status: 200, body: { approvals: [await api.readPendingApproval(id)].filter((a) => a !== undefined) } };
        return { status: 200, body: { approvals: await api.listPendingApprovals() } };
      }),
    'POST /v1/operator/approval-answers': (req) =>
      coded(async () => {
        const parsed = parseBody(req.body, AnswerRequestSchema);
        if (!parsed.ok) return parsed.reply;
        return { status: 200, body: { result: await api.answerApproval(parsed.value.approvalId, parsed.value.answer as never) } };
      }),
  };
}
