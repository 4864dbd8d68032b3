import {
  ClaimResponseSchema,
  ConnectionErrorBodySchema,
  EvidenceAckSchema,
  LeaseRenewResponseSchema,
  ProtocolError,
  RuntimeToCloudMessageSchema,
  WorkResponseSchema,
  buildRefusalSigningPayload,
  computeSha256Digest,
  parseTransportMessage,
} from '@lumenflow/protocol';
import type { ClaimRef, Clock, CloudToRuntimeMessage, DispatchRefusalRecord, RuntimeEndpoint, RuntimeToCloudMessage, WorkItem } from '@lumenflow/protocol';
import type { SigningKey } from '@lumenflow/verifier';
import { checkDispatch } from './dispatch-check.js';
import type { ConnectionsClient } from './http-client.js';
import type { Outbox } from './outbox.js';

export interface HttpRuntimeEndpointOptions {
  client: ConnectionsClient;
  outbox: Outbox;
  runtimeId: string;
  signingKey: SigningKey;
  cloudKeyId: string;
  cloudPublicKey: Uint8Array;
  clock: Clock;
  heartbeatIntervalMs: number;
  leaseMs: number;
  /** The last dispatch handled before this process started. */
  lastSeq: number;
  saveLastSeq(seq: number): Promise<void>;
  /**
   * Called when a claim's lease is gone; the work under it must stop. `LEASE_LOST`: Cloud
   * refused the renewal (the dispatch ended there, e.g. another run of its Ask took over), so
   * only that session stops; `LEASE_EXPIRED`: no renewal got through before the lease's end.
   */
  onLeaseLost?: (claim: ClaimRef, lost: { sessionId: string; why: 'LEASE_LOST' | 'LEASE_EXPIRED' }) => void;
  /** Long-poll length per request. */
  pollWaitMs?: number;
  log?: (event: string, fields: Record<string, unknown>) => void;
}

export interface HttpRuntimeEndpoint extends RuntimeEndpoint {
  /** Sends what the outbox holds; resolves when the outbox is empty or Cloud cannot be reached. */
  flush(): Promise<void>;
  /** Leases held now, by session id. */
  heldLeases(): ClaimRef[];
}

interface HeldLease {
  claim: ClaimRef;
  leaseId: string;
  expiresAtMs: number;
  timer: NodeJS.Timeout;
}

/**
 * The runtime side of the transport contract over Connections. Outgoing
 * messages land in the on-disk outbox first and are delivered at least once;
 * incoming dispatches are long-polled, checked against Cloud's pinned key,
 * claimed when they open a session, and handed over one at a time.
 */
export function createHttpRuntimeEndpoint(opts: HttpRuntimeEndpointOptions): HttpRuntimeEndpoint {
  const log = opts.log ?? (() => undefined);
  const controller = new AbortController();
  const leases = new Map<string, HeldLease>();
  let handler: ((message: CloudToRuntimeMessage) => void | Promise<void>) | undefined;
  let errorHandler: (error: unknown) => void = () => undefined;
  let closed = false;
  let lastSeq = opts.lastSeq;
  let polling = false;

  // ---- outgoing: outbox, then flush ----
  let flushing: Promise<void> | undefined;
  let flushAgain = false;
  const flushOnce = async (): Promise<void> => {
    while (opts.outbox.size() > 0 && !closed) {
      const batch = opts.outbox.peek(100);
      const reply = await opts.client.request('POST', '/v1/evidence', { records: batch });
      const ack = EvidenceAckSchema.safeParse(reply.body);
      if (reply.status !== 200 || !ack.success) {
        log('runtime.evidence-unsent', { status: reply.status });
        return;
      }
      await opts.outbox.ack(ack.data.acked);
      if (ack.data.rejected.length > 0) {
        log('runtime.evidence-rejected', { records: ack.data.rejected });
        await opts.outbox.reject(ack.data.rejected.map((r) => r.recordId));
      }
    }
  };
  const flush = async (): Promise<void> => {
    if (flushing !== undefined) {
      flushAgain = true;
      return flushing;
    }
    flushing = (async () => {
      do {
        flushAgain = false;
        try {
          await flushOnce();
        } catch {
          log('runtime.cloud-unreachable', { during: 'evidence' });
          return;
        }
      } while (flushAgain);
    })().finally(() => {
      flushing = undefined;
    });
    return flushing;
  };

  const send = async (message: RuntimeToCloudMessage): Promise<void> => {
    if (closed) throw new ProtocolError('TRANSPORT_CLOSED', 'transport is closed');
    const checked = parseTransportMessage(RuntimeToCloudMessageSchema, JSON.parse(JSON.stringify(message)));
    await opts.outbox.put({ kind: 'runtime-message', recordId: checked.messageId, message: checked });
    if (checked.type === 'session.ended') dropLease(checked.sessionId);
    void flush();
  };

  // ---- leases ----
  const dropLease = (sessionId: string): void => {
    const lease = leases.get(sessionId);
    if (lease === undefined) return;
    clearInterval(lease.timer);
    leases.delete(sessionId);
  };
  const loseLease = (sessionId: string, why: 'LEASE_LOST' | 'LEASE_EXPIRED'): void => {
    const lease = leases.get(sessionId);
    if (lease === undefined) return;
    dropLease(sessionId);
    log('runtime.lease-lost', { ...lease.claim, sessionId, why });
    opts.onLeaseLost?.(lease.claim, { sessionId, why });
  };
  const holdLease = (sessionId: string, claim: ClaimRef, leaseId: string, expiresAt: string): void => {
    const timer = setInterval(() => {
      const lease = leases.get(sessionId);
      if (lease === undefined) return;
      opts.client
        .request('POST', '/v1/leases', { ...claim, leaseId }, controller.signal)
        .then((reply) => {
          const renewed = LeaseRenewResponseSchema.safeParse(reply.body);
          if (reply.status === 200 && renewed.success) lease.expiresAtMs = Date.parse(renewed.data.expiresAt);
          else if (reply.status === 409) loseLease(sessionId, 'LEASE_LOST');
        })
        .catch(() => undefined)
        .finally(() => {
          // Without a renewal we cannot know the lease still holds; past its end, stop.
          if (leases.has(sessionId) && opts.clock.now().getTime() > lease.expiresAtMs) loseLease(sessionId, 'LEASE_EXPIRED');
        });
    }, Math.max(20, Math.floor(opts.leaseMs / 3)));
    timer.unref();
    leases.set(sessionId, { claim, leaseId, expiresAtMs: Date.parse(expiresAt), timer });
  };

  // ---- incoming: long-poll, check, claim, deliver ----
  const refuse = async (item: WorkItem, code: DispatchRefusalRecord['code']): Promise<void> => {
    const unsigned = {
      kind: 'dispatch-refusal' as const,
      recordId: `refusal-${item.workId}`,
      runtimeId: opts.runtimeId,
      workId: item.workId,
      code,
      payloadSha256: computeSha256Digest(new Uint8Array(Buffer.from(item.payload, 'base64'))),
      refusedAt: opts.clock.now().toISOString(),
    };
    const signature = opts.signingKey.sign(buildRefusalSigningPayload(unsigned));
    log('runtime.dispatch-refused', { workId: item.workId, code });
    await opts.outbox.put({ ...unsigned, signature: { keyId: opts.signingKey.keyId, value: Buffer.from(signature).toString('base64') } });
    void flush();
  };

  const processItem = async (item: WorkItem): Promise<void> => {
    const checked = checkDispatch(item, { runtimeId: opts.runtimeId, cloudKeyId: opts.cloudKeyId, cloudPublicKey: opts.cloudPublicKey });
    if (!checked.ok) return refuse(item, checked.code);
    const { body } = checked;
    if (body.claim !== null && body.message.type === 'session.open') {
      const reply = await opts.client.request('POST', '/v1/claims', { workId: body.workId, ...body.claim }, controller.signal);
      const claimed = ClaimResponseSchema.safeParse(reply.body);
      if ((reply.status === 201 || reply.status === 200) && claimed.success) {
        holdLease(body.message.sessionId, body.claim, claimed.data.leaseId, claimed.data.expiresAt);
        log('runtime.claimed', { ...body.claim, workId: body.workId });
      } else if (reply.status === 409 || reply.status === 404) {
        const code = ConnectionErrorBodySchema.safeParse(reply.body);
        log('runtime.claim-refused', { ...body.claim, code: code.success ? code.data.error.code : reply.status });
        return;
      } else {
        throw new ProtocolError('TRANSPORT_CLOSED', `claim failed with HTTP ${reply.status}`);
      }
    }
    if (handler === undefined) return;
    try {
      await handler(body.message);
    } catch (error) {
      errorHandler(error);
    }
  };

  const pollLoop = async (): Promise<void> => {
    let backoffMs = 100;
    while (!closed) {
      try {
        const reply = await opts.client.request('GET', `/v1/work?after=${lastSeq}&wait=${opts.pollWaitMs ?? 25_000}`, undefined, controller.signal);
        const work = WorkResponseSchema.safeParse(reply.body);
        if (reply.status !== 200 || !work.success) throw new ProtocolError('SCHEMA_INVALID', `work poll answered HTTP ${reply.status}`);
        backoffMs = 100;
        for (const item of work.data.items) {
          if (closed) return;
          if (item.seq <= lastSeq) continue;
          await processItem(item);
          lastSeq = item.seq;
          await opts.saveLastSeq(lastSeq);
        }
      } catch (error) {
        if (closed) return;
        log('runtime.poll-failed', { code: (error as { code?: unknown }).code ?? 'UNREACHABLE' });
        await sleep(backoffMs);
        backoffMs = Math.min(backoffMs * 2, 5_000);
      }
    }
  };

  const heartbeat = setInterval(() => {
    opts.client.request('POST', '/v1/heartbeat', {}, controller.signal).catch(() => log('runtime.cloud-unreachable', { during: 'heartbeat' }));
    if (opts.outbox.size() > 0) void flush();
  }, opts.heartbeatIntervalMs);
  heartbeat.unref();
  // A restart resumes here: whatever the last process left in the outbox goes first.
  void flush();

  return {
    send,
    onMessage: (next) => {
      handler = next;
      if (!polling) {
        polling = true;
        void pollLoop();
      }
    },
    onError: (next) => {
      errorHandler = next;
    },
    close: () => {
      closed = true;
      clearInterval(heartbeat);
      for (const sessionId of [...leases.keys()]) dropLease(sessionId);
      controller.abort();
    },
    flush,
    heldLeases: () => [...leases.values()].map((l) => l.claim),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
