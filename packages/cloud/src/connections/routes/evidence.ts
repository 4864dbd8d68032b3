import { EvidenceBatchSchema, buildRefusalSigningPayload } from '@lumenflow/protocol';
import type { EvidenceAck, EvidenceRecord } from '@lumenflow/protocol';
import { verifyEd25519 } from '@lumenflow/verifier';
import { checkMessageSignature } from '../../message-signature.js';
import type { CachedRuntime } from '../runtime-registry.js';
import { rememberSessionOwner } from '../server-context.js';
import type { ServerContext } from '../server-context.js';
import { fail, parseBody } from './route-kit.js';
import type { Reply, RouteContext } from './route-kit.js';

/** Checking records is synchronous work: this much of it at most before other requests get a turn. */
const YIELD_AFTER_MS = 2;

type Verdict = 'ok' | 'BAD_RECORD_SIGNATURE' | 'WRONG_RUNTIME';

function checkRecord(runtime: CachedRuntime, record: EvidenceRecord, sessionOwner: (sessionId: string) => string | undefined): Verdict {
  if (record.kind === 'dispatch-refusal') {
    if (record.runtimeId !== runtime.runtimeId) return 'WRONG_RUNTIME';
    if (record.signature.keyId !== runtime.keyId) return 'BAD_RECORD_SIGNATURE';
    const { signature, ...unsigned } = record;
    return verifyEd25519(new Uint8Array(Buffer.from(signature.value, 'base64')), buildRefusalSigningPayload(unsigned), runtime.publicKey) ? 'ok' : 'BAD_RECORD_SIGNATURE';
  }
  const message = record.message;
  if (record.recordId !== message.messageId) return 'WRONG_RUNTIME';
  if (!checkMessageSignature(message, runtime)) return 'BAD_RECORD_SIGNATURE';
  if (message.type === 'runtime.enroll') {
    // The handshake message must speak for the runtime this connection enrolled, with that same key.
    return message.runtimeId === runtime.runtimeId && message.publicKeyPem === runtime.publicKeyPem ? 'ok' : 'WRONG_RUNTIME';
  }
  return sessionOwner(message.sessionId) === runtime.runtimeId ? 'ok' : 'WRONG_RUNTIME';
}

/**
 * `POST /v1/evidence`: each record verified against the enrolled key, appended
 * to the evidence table in one statement (ON CONFLICT on (runtime, record id):
 * a record already stored is verified and acknowledged again, never stored or
 * announced twice), acknowledged only after the commit.
 */
export async function evidenceRoute(ctx: ServerContext, req: RouteContext): Promise<Reply> {
  const parsed = parseBody(req.body, EvidenceBatchSchema);
  if (!parsed.ok) return parsed.reply;
  const runtime = ctx.runtimes.get(req.runtimeId);
  if (runtime === undefined) return fail(401, 'UNKNOWN_RUNTIME', 'unknown runtime');
  const records = parsed.value.records as EvidenceRecord[];
  const ack: EvidenceAck = { acked: [], rejected: [] };
  // Which runtime a session was dispatched to never changes: known from this Cloud's own dispatch, else asked of the database once.
  const sessionOwners = ctx.sessionOwners;
  const unknown = new Set<string>();
  for (const r of records) if (r.kind === 'runtime-message' && r.message.type !== 'runtime.enroll' && !sessionOwners.has(r.message.sessionId)) unknown.add(r.message.sessionId);
  if (unknown.size > 0) for (const [sessionId, owner] of await ctx.store.sessionOwners([...unknown])) rememberSessionOwner(ctx, sessionId, owner);
  const fresh: EvidenceRecord[] = [];
  const freshIds = new Set<string>();
  let since = performance.now();
  for (const record of records) {
    if (freshIds.has(record.recordId)) {
      ack.acked.push(record.recordId);
      continue;
    }
    // Each check is a strict Ed25519 verification: after every few milliseconds of them, yield
    // so that claims and heartbeats are not queued behind a long evidence batch.
    if (performance.now() - since > YIELD_AFTER_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      since = performance.now();
    }
    const verdict = checkRecord(runtime, record, (id) => sessionOwners.get(id));
    if (verdict !== 'ok') {
      ctx.log('evidence.rejected', { runtimeId: runtime.runtimeId, recordId: record.recordId, code: verdict });
      ack.rejected.push({ recordId: record.recordId, code: verdict });
      continue;
    }
    fresh.push(record);
    freshIds.add(record.recordId);
  }
  if (fresh.length === 0) return { status: 200, body: ack };
  const inserted = await ctx.store.appendEvidence({ origin: ctx.instanceId, runtimeId: runtime.runtimeId, receivedMs: ctx.nowMs(), records: fresh });
  for (const record of fresh) ack.acked.push(record.recordId);
  for (const record of fresh) {
    // A record a concurrent resend stored first is acknowledged, not announced again.
    if (!inserted.has(record.recordId)) continue;
    if (record.kind === 'runtime-message' && record.message.type === 'session.ended') {
      const ended = await ctx.store.completeSession(runtime.runtimeId, record.message.sessionId, record.message.outcome, ctx.nowMs());
      if (ended !== undefined) {
        ctx.log('work.ended', { workId: ended.workId, state: ended.state, outcome: ended.outcome, ...(ended.claim ?? {}) });
        ctx.announceWorkEnded(ended);
      }
    }
    ctx.announceRecord({ runtimeId: runtime.runtimeId, record });
  }
  return { status: 200, body: ack };
}
