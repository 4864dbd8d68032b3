import { describe, expect, test } from 'vitest';
import { ProtocolError, createInProcessTransport, parseTransportMessage, RuntimeToCloudMessageSchema } from '@lumenflow/protocol';
import type { CloudToRuntimeMessage, RuntimeToCloudMessage } from '@lumenflow/protocol';

const halt: CloudToRuntimeMessage = { type: 'session.halt', messageId: 'cmsg_0001', runId: 'run-1', sessionId: 'ses_0001', reason: 'denied' };

function collect<T>(onMessage: (h: (m: T) => void) => void): T[] {
  const seen: T[] = [];
  onMessage((m) => {
    seen.push(m);
  });
  return seen;
}

// Lets queued deliveries run: each takes one macrotask hop; no wall-clock timing involved.
async function tick(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
}

describe('in-process transport', () => {
  test('delivers asynchronously, in order, as a copy the sender cannot reach', async () => {
    const { cloud, runtime } = createInProcessTransport();
    const seen = collect<CloudToRuntimeMessage>((h) => runtime.onMessage(h));
    const first = { ...halt };
    await cloud.send(first);
    await cloud.send({ ...halt, messageId: 'cmsg_0002' });
    expect(seen).toHaveLength(0);
    first.reason = 'changed after sending';
    await tick();
    expect(seen.map((m) => m.messageId)).toEqual(['cmsg_0001', 'cmsg_0002']);
    expect(seen[0]).not.toBe(first);
    expect(seen[0]).toMatchObject({ reason: 'denied' });
  });

  test('validates on receipt: a malformed message never reaches the handler and is reported as SCHEMA_INVALID', async () => {
    const { cloud, runtime } = createInProcessTransport();
    const errors: unknown[] = [];
    const seen = collect<CloudToRuntimeMessage>((h) => runtime.onMessage(h));
    runtime.onError((e) => errors.push(e));
    await cloud.send({ ...halt, runId: '../escape' });
    await cloud.send({ ...halt, extra: true } as unknown as CloudToRuntimeMessage);
    await tick();
    expect(seen).toHaveLength(0);
    expect(errors).toHaveLength(2);
    expect(errors.every((e) => e instanceof ProtocolError && e.code === 'SCHEMA_INVALID')).toBe(true);
  });

  test('carries runtime messages the other way, and a closed transport refuses to send', async () => {
    const { cloud, runtime } = createInProcessTransport();
    const seen = collect<RuntimeToCloudMessage>((h) => cloud.onMessage(h));
    const ended = {
      type: 'session.ended',
      messageId: 'rmsg_0001',
      runId: 'run-1',
      sessionId: 'ses_0001',
      outcome: 'completed',
      reason: 'done',
      workspaceUnchanged: false,
      endedAt: '2026-11-23T10:00:00.000Z',
      signature: { keyId: `sha256:${'a'.repeat(64)}`, value: `${'A'.repeat(86)}==` },
    } as const;
    await runtime.send(ended);
    await tick();
    expect(seen).toEqual([ended]);
    cloud.close();
    await expect(runtime.send(ended)).rejects.toMatchObject({ code: 'TRANSPORT_CLOSED' });
  });

  test('parseTransportMessage names the failing path', () => {
    try {
      parseTransportMessage(RuntimeToCloudMessageSchema, { type: 'session.ended', messageId: 'x' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ProtocolError);
      expect((error as ProtocolError).code).toBe('SCHEMA_INVALID');
      expect((error as ProtocolError).path).toBe('runId');
    }
  });
});

describe('createMessageInbox: the receiving half every transport shares', () => {
  test('delivers in order, one at a time, and a bad input or a failing handler does not stop the rest', async () => {
    const { createMessageInbox } = await import('@lumenflow/protocol');
    const inbox = createMessageInbox((raw: string) => {
      const n = Number(raw);
      if (!Number.isInteger(n)) throw new ProtocolError('SCHEMA_INVALID', `not a number: ${raw}`);
      return n;
    });
    const errors: string[] = [];
    inbox.onError((error) => errors.push(error instanceof ProtocolError ? error.code : 'OTHER'));
    const seen: number[] = [];
    let inFlight = 0;
    let overlapped = false;
    let release: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (release = resolve));
    for (const raw of ['1', 'x', '2', '3']) inbox.push(raw);
    inbox.onMessage(async (n) => {
      inFlight++;
      if (inFlight > 1) overlapped = true;
      await new Promise<void>((resolve) => setImmediate(resolve));
      seen.push(n);
      inFlight--;
      if (n === 2) throw new Error('handler failed');
      if (n === 3) release();
    });
    await done;
    expect(seen).toEqual([1, 2, 3]);
    expect(errors).toEqual(['SCHEMA_INVALID', 'OTHER']);
    expect(overlapped).toBe(false);
  });

  test('nothing is delivered after close', async () => {
    const { createMessageInbox } = await import('@lumenflow/protocol');
    const inbox = createMessageInbox((raw: number) => raw, { yieldBeforeEach: true });
    const seen: number[] = [];
    inbox.onMessage((n) => {
      seen.push(n);
    });
    inbox.push(1);
    inbox.close();
    inbox.push(2);
    await new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)));
    expect(seen).toEqual([]);
  });
});
