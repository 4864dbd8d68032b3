import { EnrollRequestSchema } from '@lumenflow/protocol';
import type { EnrollResponse } from '@lumenflow/protocol';
import { computeKeyId, encodePublicKeyDer, parsePublicKeyPem } from '@lumenflow/verifier';
import { hashEnrollToken } from '../enroll-token.js';
import type { ServerContext } from '../server-context.js';
import { fail, parseBody } from './route-kit.js';
import type { Reply, RouteContext } from './route-kit.js';

/**
 * `POST /v1/enroll`: a one-time token makes one runtime for one key. Burning the
 * token and creating the runtime are one transaction, and the schema allows one
 * runtime per key and one use per token, so no race makes two.
 */
export async function enrollRoute(ctx: ServerContext, req: RouteContext): Promise<Reply> {
  const parsed = parseBody(req.body, EnrollRequestSchema);
  if (!parsed.ok) return parsed.reply;
  const request = parsed.value;
  let publicKey: Uint8Array;
  try {
    publicKey = parsePublicKeyPem(request.publicKeyPem);
  } catch {
    return fail(400, 'KEY_INVALID', 'publicKeyPem is not one strict Ed25519 SPKI PEM key');
  }
  const keyId = computeKeyId(encodePublicKeyDer(publicKey));
  const runtimeId = ctx.newId('rt');
  const now = ctx.nowMs();
  const runtime = { runtimeId, keyId, publicKeyPem: request.publicKeyPem, labels: [...request.labels], version: request.version, host: request.host };
  const outcome = await ctx.store.enrollRuntime({ tokenHash: hashEnrollToken(request.token), nowMs: now, runtime });
  if (!outcome.ok) {
    const messages = {
      TOKEN_INVALID: 'unknown enrollment token',
      TOKEN_USED: 'the enrollment token was already used',
      TOKEN_EXPIRED: 'the enrollment token expired',
      KEY_ALREADY_ENROLLED: 'this key is already enrolled',
    } as const;
    return fail(outcome.code === 'KEY_ALREADY_ENROLLED' ? 409 : 401, outcome.code, messages[outcome.code]);
  }
  ctx.runtimes.add({ ...runtime, enrolledAt: new Date(now).toISOString(), lastSeenMs: now, droppedMs: null });
  ctx.runtimes.seen(runtimeId, now);
  ctx.log('runtime.enrolled', { runtimeId, keyId, labels: runtime.labels });
  const response: EnrollResponse = {
    runtimeId,
    keyId,
    cloudPublicKeyPem: ctx.signingKey.publicKeyPem,
    cloudKeyId: ctx.signingKey.keyId,
    heartbeatIntervalMs: ctx.heartbeatIntervalMs,
    leaseMs: ctx.leaseMs,
  };
  return { status: 201, body: response };
}
