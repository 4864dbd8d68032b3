import { DispatchBodySchema, canonicalizeToBytes, parseStrictJsonBytes } from '@lumenflow/protocol';
import type { DispatchBody, DispatchRefusalCode, WorkItem } from '@lumenflow/protocol';
import { verifyEd25519 } from '@lumenflow/verifier';

export type DispatchCheck = { ok: true; body: DispatchBody } | { ok: false; code: DispatchRefusalCode };

/**
 * Opens a delivered dispatch the way a runtime must before acting on it: the
 * signature is Cloud's pinned key over the exact payload bytes, those bytes
 * are the one RFC 8785 form of a valid dispatch addressed to this runtime,
 * and the clear routing fields say the same as the signed ones. The message
 * to run comes only from the signed bytes.
 */
export function checkDispatch(item: WorkItem, ctx: { runtimeId: string; cloudKeyId: string; cloudPublicKey: Uint8Array }): DispatchCheck {
  const bytes = new Uint8Array(Buffer.from(item.payload, 'base64'));
  if (Buffer.from(bytes).toString('base64') !== item.payload) return { ok: false, code: 'DISPATCH_MALFORMED' };
  if (item.signature.keyId !== ctx.cloudKeyId) return { ok: false, code: 'DISPATCH_SIGNATURE_INVALID' };
  if (!verifyEd25519(new Uint8Array(Buffer.from(item.signature.value, 'base64')), bytes, ctx.cloudPublicKey)) {
    return { ok: false, code: 'DISPATCH_SIGNATURE_INVALID' };
  }
  let body: DispatchBody;
  try {
    const parsed = DispatchBodySchema.safeParse(parseStrictJsonBytes(bytes));
    if (!parsed.success) return { ok: false, code: 'DISPATCH_MALFORMED' };
    body = parsed.data;
  } catch {
    return { ok: false, code: 'DISPATCH_MALFORMED' };
  }
  if (!Buffer.from(canonicalizeToBytes(body)).equals(Buffer.from(bytes))) return { ok: false, code: 'DISPATCH_MALFORMED' };
  if (body.runtimeId !== ctx.runtimeId) return { ok: false, code: 'DISPATCH_MISADDRESSED' };
  const sameClaim = JSON.stringify(body.claim) === JSON.stringify(item.claim === null ? null : { askId: item.claim.askId, attempt: item.claim.attempt });
  if (body.workId !== item.workId || body.seq !== item.seq || !sameClaim) return { ok: false, code: 'DISPATCH_MISMATCH' };
  const message = body.message;
  if (message.type === 'session.open') {
    if (body.claim === null || body.claim.askId !== message.ask.askId || message.runtimeId !== ctx.runtimeId) return { ok: false, code: 'DISPATCH_MISMATCH' };
  } else if (body.claim !== null) {
    return { ok: false, code: 'DISPATCH_MISMATCH' };
  }
  if (message.type === 'runtime.enrolled' && message.runtimeId !== ctx.runtimeId) return { ok: false, code: 'DISPATCH_MISADDRESSED' };
  return { ok: true, body };
}
