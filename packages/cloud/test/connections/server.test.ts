import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DispatchBodySchema, canonicalizeToBytes, parseStrictJsonBytes } from '@lumenflow/protocol';
import { verifyEd25519 } from '@lumenflow/verifier';
import { createEnrollToken, openConnectionsServer } from '@lumenflow/cloud';
import type { ConnectionsServer } from '@lumenflow/cloud';
import {
  accepted,
  createKey,
  createManualClock,
  createSigner,
  createTempDir,
  enrollBody,
  ended,
  send,
  sessionOpen,
  signHeaders,
  signMessage,
} from './helpers.js';

const open: ConnectionsServer[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

async function start(opts: { dataDir?: string; maxAttempts?: number; clock?: ReturnType<typeof createManualClock>; cloudKey?: ReturnType<typeof createKey> } = {}) {
  const dataDir = opts.dataDir ?? (await createTempDir('cloud'));
  const clock = opts.clock ?? createManualClock();
  const cloudKey = opts.cloudKey ?? createKey();
  const events: Array<{ event: string; fields: Record<string, unknown> }> = [];
  const server = await openConnectionsServer({
    dataDir,
    signingKey: cloudKey,
    clock,
    leaseMs: 30_000,
    heartbeatIntervalMs: 5_000,
    missedHeartbeats: 3,
    maxAttempts: opts.maxAttempts ?? 1,
    log: (event, fields) => events.push({ event, fields }),
  });
  open.push(server);
  const { url } = await server.listen(0);
  return { server, url, dataDir, clock, cloudKey, events };
}

async function enrolled(ctx: Awaited<ReturnType<typeof start>>) {
  const key = createKey();
  const { token } = await createEnrollToken({ dataDir: ctx.dataDir, clock: ctx.clock });
  const reply = await send(ctx.url, 'POST', '/v1/enroll', JSON.stringify(enrollBody(token, key)));
  expect(reply.status).toBe(201);
  const runtimeId = reply.body.runtimeId as string;
  return { key, runtimeId, signer: createSigner(ctx.url, runtimeId, key, ctx.clock), token };
}

describe('enrollment', () => {
  it('exchanges a one-time token and a public key for a runtime id, and stores only the token hash', async () => {
    const ctx = await start();
    const { key, runtimeId, token } = await enrolled(ctx);
    expect(runtimeId).toMatch(/^rt-/);
    const rows = await ctx.server.store.db.query('SELECT * FROM enroll_tokens');
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(token.slice(4));
    expect(ctx.server.listRuntimes()[0]?.keyId).toBe(key.keyId);
    const reuse = await send(ctx.url, 'POST', '/v1/enroll', JSON.stringify(enrollBody(token, createKey())));
    expect(reuse.status).toBe(401);
    expect(reuse.body.error.code).toBe('TOKEN_USED');
  });

  it('refuses an expired token, an unknown token, and a key that is not strict Ed25519', async () => {
    const ctx = await start();
    const { token } = await createEnrollToken({ dataDir: ctx.dataDir, clock: ctx.clock, ttlMs: 1000 });
    ctx.clock.advance(1001);
    const expired = await send(ctx.url, 'POST', '/v1/enroll', JSON.stringify(enrollBody(token, createKey())));
    expect(expired.body.error.code).toBe('TOKEN_EXPIRED');
    const unknown = await send(ctx.url, 'POST', '/v1/enroll', JSON.stringify(enrollBody(`lfe_${'A'.repeat(43)}`, createKey())));
    expect(unknown.body.error.code).toBe('TOKEN_INVALID');
    const fresh = await createEnrollToken({ dataDir: ctx.dataDir, clock: ctx.clock });
    const badKey = await send(ctx.url, 'POST', '/v1/enroll', JSON.stringify({ ...enrollBody(fresh.token, createKey()), publicKeyPem: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n' }));
    expect(badKey.status).toBe(400);
    expect(badKey.body.error.code).toBe('KEY_INVALID');
  });

  it('answers malformed, duplicate-key and oversized bodies with a code and keeps serving', async () => {
    const ctx = await start();
    expect((await send(ctx.url, 'POST', '/v1/enroll', '{"token":')).body.error.code).toBe('BAD_JSON');
    expect((await send(ctx.url, 'POST', '/v1/enroll', '{"a":1,"a":2}')).body.error.code).toBe('BAD_JSON');
    expect((await send(ctx.url, 'POST', '/v1/enroll', '{"token":"x"}')).body.error.code).toBe('SCHEMA_INVALID');
    const big = await send(ctx.url, 'POST', '/v1/enroll', 'x'.repeat(1024 * 1024 + 1));
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('BODY_TOO_LARGE');
    expect((await send(ctx.url, 'GET', '/v1/nothing', undefined)).body.error.code).toBe('NOT_FOUND');
    expect((await send(ctx.url, 'GET', '/v1/enroll', undefined)).body.error.code).toBe('METHOD_NOT_ALLOWED');
    await enrolled(ctx);
  });
});

describe('signed requests', () => {
  it('accepts a signed heartbeat and refuses unsigned, stale, replayed, tampered and wrong-key requests, logging each', async () => {
    const ctx = await start();
    const { key, runtimeId, signer } = await enrolled(ctx);
    expect((await signer.request('POST', '/v1/heartbeat', {})).status).toBe(200);

    const unsigned = await send(ctx.url, 'POST', '/v1/heartbeat', '{}');
    expect(unsigned.body.error.code).toBe('UNSIGNED');

    const body = new TextEncoder().encode('{}');
    const old = signHeaders({ runtimeId, key, method: 'POST', path: '/v1/heartbeat', body, timestamp: new Date(ctx.clock.ms() - 61_000).toISOString() });
    expect((await send(ctx.url, 'POST', '/v1/heartbeat', body, old)).body.error.code).toBe('STALE_REQUEST');

    const once = signHeaders({ runtimeId, key, method: 'POST', path: '/v1/heartbeat', body, timestamp: ctx.clock.now().toISOString() });
    expect((await send(ctx.url, 'POST', '/v1/heartbeat', body, once)).status).toBe(200);
    expect((await send(ctx.url, 'POST', '/v1/heartbeat', body, once)).body.error.code).toBe('REPLAYED_REQUEST');

    // The signature covers the body digest and the path: changing either breaks it.
    const signed = signHeaders({ runtimeId, key, method: 'POST', path: '/v1/heartbeat', body, timestamp: ctx.clock.now().toISOString() });
    expect((await send(ctx.url, 'POST', '/v1/heartbeat', '{"x":1}', signed)).body.error.code).toBe('BAD_SIGNATURE');
    const elsewhere = signHeaders({ runtimeId, key, method: 'POST', path: '/v1/leases', body, timestamp: ctx.clock.now().toISOString() });
    expect((await send(ctx.url, 'POST', '/v1/heartbeat', body, elsewhere)).body.error.code).toBe('BAD_SIGNATURE');

    const other = createKey();
    const wrongKey = signHeaders({ runtimeId, key: other, method: 'POST', path: '/v1/heartbeat', body, timestamp: ctx.clock.now().toISOString() });
    expect((await send(ctx.url, 'POST', '/v1/heartbeat', body, wrongKey)).body.error.code).toBe('BAD_SIGNATURE');
    const stranger = signHeaders({ runtimeId: 'rt-stranger', key: other, method: 'POST', path: '/v1/heartbeat', body, timestamp: ctx.clock.now().toISOString() });
    expect((await send(ctx.url, 'POST', '/v1/heartbeat', body, stranger)).body.error.code).toBe('UNKNOWN_RUNTIME');

    const refused = ctx.events.filter((e) => e.event === 'request.refused').map((e) => e.fields['code']);
    expect(refused).toEqual(['UNSIGNED', 'STALE_REQUEST', 'REPLAYED_REQUEST', 'BAD_SIGNATURE', 'BAD_SIGNATURE', 'BAD_SIGNATURE', 'UNKNOWN_RUNTIME']);
  });

  it('marks a runtime lost after missed heartbeats and online again when it speaks', async () => {
    const ctx = await start();
    const { signer } = await enrolled(ctx);
    ctx.clock.advance(15_001);
    await ctx.server.sweep();
    expect(ctx.server.listRuntimes()[0]?.status).toBe('lost');
    expect(ctx.events.some((e) => e.event === 'runtime.lost')).toBe(true);
    expect((await signer.request('POST', '/v1/heartbeat', {})).status).toBe(200);
    expect(ctx.server.listRuntimes()[0]?.status).toBe('online');
  });
});

describe('dispatch, claims and leases', () => {
  it('delivers a dispatch signed by Cloud over exactly the bytes of the message', async () => {
    const ctx = await start();
    const { runtimeId, signer } = await enrolled(ctx);
    const message = sessionOpen(runtimeId, 'ses-1');
    const work = await ctx.server.dispatch(runtimeId, message);
    const poll = await signer.request('GET', '/v1/work?after=0&wait=0');
    expect(poll.body.items).toHaveLength(1);
    const item = poll.body.items[0];
    const bytes = new Uint8Array(Buffer.from(item.payload, 'base64'));
    expect(verifyEd25519(new Uint8Array(Buffer.from(item.signature.value, 'base64')), bytes, ctx.cloudKey.publicKey)).toBe(true);
    const body = DispatchBodySchema.parse(parseStrictJsonBytes(bytes));
    expect(Buffer.from(canonicalizeToBytes(body)).equals(Buffer.from(bytes))).toBe(true);
    expect(body.message).toEqual(message);
    expect(body.claim).toEqual({ askId: 'ask-one', attempt: 1 });
    expect(item.workId).toBe(work.workId);
  });

  it('wakes a long-poll when work arrives', async () => {
    const ctx = await start();
    const { runtimeId, signer } = await enrolled(ctx);
    const pending = signer.request('GET', '/v1/work?after=0&wait=20000');
    await new Promise((r) => setTimeout(r, 50));
    await ctx.server.dispatch(runtimeId, sessionOpen(runtimeId, 'ses-1'));
    expect((await pending).body.items).toHaveLength(1);
  });

  it('grants one lease per (askId, attempt), idempotently, and refuses a second claim of the same Ask with 409', async () => {
    const ctx = await start();
    const a = await enrolled(ctx);
    const b = await enrolled(ctx);
    const workA = await ctx.server.dispatch(a.runtimeId, sessionOpen(a.runtimeId, 'ses-a'));
    // The same (Ask, attempt) offered to a second runtime (named explicitly: a new dispatch would count the next attempt).
    const workB = await ctx.server.dispatch(b.runtimeId, sessionOpen(b.runtimeId, 'ses-b'), { attempt: 1 });
    expect(workB.claim).toEqual({ askId: 'ask-one', attempt: 1 });
    const first = await a.signer.request('POST', '/v1/claims', { workId: workA.workId, askId: 'ask-one', attempt: 1 });
    expect(first.status).toBe(201);
    const again = await a.signer.request('POST', '/v1/claims', { workId: workA.workId, askId: 'ask-one', attempt: 1 });
    expect(again.status).toBe(200);
    expect(again.body.leaseId).toBe(first.body.leaseId);
    const second = await b.signer.request('POST', '/v1/claims', { workId: workB.workId, askId: 'ask-one', attempt: 1 });
    expect(second.status).toBe(409);
    expect(second.body.error.code).toBe('CLAIM_CONFLICT');
    const foreign = await b.signer.request('POST', '/v1/claims', { workId: workA.workId, askId: 'ask-one', attempt: 1 });
    expect(foreign.body.error.code).toBe('WORK_UNKNOWN');
    const renewed = await a.signer.request('POST', '/v1/leases', { askId: 'ask-one', attempt: 1, leaseId: first.body.leaseId });
    expect(renewed.status).toBe(200);
  });

  it('fails the Ask when the lease expires with no attempts left, and tells the runtime its lease is lost', async () => {
    const ctx = await start();
    const a = await enrolled(ctx);
    const work = await ctx.server.dispatch(a.runtimeId, sessionOpen(a.runtimeId, 'ses-a'));
    const claim = await a.signer.request('POST', '/v1/claims', { workId: work.workId, askId: 'ask-one', attempt: 1 });
    const ended: string[] = [];
    ctx.server.onWorkEnded((w) => ended.push(`${w.workId}:${w.state}:${w.outcome}`));
    ctx.clock.advance(30_001);
    await ctx.server.sweep();
    expect((await ctx.server.getWork(work.workId))?.state).toBe('failed');
    expect(ended).toEqual([`${work.workId}:failed:LEASE_EXPIRED`]);
    const renew = await a.signer.request('POST', '/v1/leases', { askId: 'ask-one', attempt: 1, leaseId: claim.body.leaseId });
    expect(renew.body.error.code).toBe('LEASE_LOST');
    const poll = await a.signer.request('GET', '/v1/work?after=0&wait=0');
    expect(poll.body.items).toHaveLength(0);
  });

  it('re-dispatches as the next attempt after a lease expires when attempts remain', async () => {
    const ctx = await start({ maxAttempts: 2 });
    const a = await enrolled(ctx);
    const work = await ctx.server.dispatch(a.runtimeId, sessionOpen(a.runtimeId, 'ses-a'));
    await a.signer.request('POST', '/v1/claims', { workId: work.workId, askId: 'ask-one', attempt: 1 });
    ctx.clock.advance(30_001);
    await ctx.server.sweep();
    const poll = await a.signer.request('GET', '/v1/work?after=1&wait=0');
    expect(poll.body.items).toHaveLength(1);
    expect(poll.body.items[0].claim).toEqual({ askId: 'ask-one', attempt: 2 });
    const stale = await a.signer.request('POST', '/v1/claims', { workId: work.workId, askId: 'ask-one', attempt: 1 });
    expect(stale.status).toBe(409);
    const next = await a.signer.request('POST', '/v1/claims', { workId: poll.body.items[0].workId, askId: 'ask-one', attempt: 2 });
    expect(next.status).toBe(201);
  });
});

describe('evidence receipts', () => {
  it('stores each record once, rejects records not signed by the enrolled key, and closes the claim on session end', async () => {
    const ctx = await start();
    const a = await enrolled(ctx);
    const work = await ctx.server.dispatch(a.runtimeId, sessionOpen(a.runtimeId, 'ses-a'));
    await a.signer.request('POST', '/v1/claims', { workId: work.workId, askId: 'ask-one', attempt: 1 });
    const seen: string[] = [];
    ctx.server.onRecord(({ record }) => seen.push(record.recordId));
    const good = signMessage(accepted('ses-a', 'rmsg-1'), a.key);
    const forged = signMessage(accepted('ses-a', 'rmsg-2'), createKey());
    const tampered = { ...signMessage(accepted('ses-a', 'rmsg-3'), a.key), baselineCommit: 'b'.repeat(40) };
    const batch = {
      records: [
        { kind: 'runtime-message', recordId: 'rmsg-1', message: good },
        { kind: 'runtime-message', recordId: 'rmsg-2', message: forged },
        { kind: 'runtime-message', recordId: 'rmsg-3', message: tampered },
      ],
    };
    const first = await a.signer.request('POST', '/v1/evidence', batch);
    expect(first.body).toEqual({
      acked: ['rmsg-1'],
      rejected: [
        { recordId: 'rmsg-2', code: 'BAD_RECORD_SIGNATURE' },
        { recordId: 'rmsg-3', code: 'BAD_RECORD_SIGNATURE' },
      ],
    });
    // At-least-once delivery: the same record again is acknowledged, not counted again.
    const again = await a.signer.request('POST', '/v1/evidence', { records: [batch.records[0]] });
    expect(again.body.acked).toEqual(['rmsg-1']);
    expect(seen).toEqual(['rmsg-1']);
    expect((await ctx.server.listEvidence(a.runtimeId))).toHaveLength(1);

    const b = await enrolled(ctx);
    const hijack = await b.signer.request('POST', '/v1/evidence', { records: [{ kind: 'runtime-message', recordId: 'rmsg-9', message: signMessage(accepted('ses-a', 'rmsg-9'), b.key) }] });
    expect(hijack.body.rejected).toEqual([{ recordId: 'rmsg-9', code: 'WRONG_RUNTIME' }]);

    await a.signer.request('POST', '/v1/evidence', { records: [{ kind: 'runtime-message', recordId: 'rmsg-4', message: signMessage(ended('ses-a', 'rmsg-4'), a.key) }] });
    expect((await ctx.server.getWork(work.workId))?.state).toBe('completed');
  });
});

describe('restart', () => {
  it('keeps runtimes, used tokens, queued dispatches and received records across a restart, and refuses requests signed before it', async () => {
    const dataDir = await createTempDir('cloud');
    const clock = createManualClock();
    const cloudKey = createKey();
    const first = await start({ dataDir, clock, cloudKey });
    const a = await enrolled(first);
    const work = await first.server.dispatch(a.runtimeId, sessionOpen(a.runtimeId, 'ses-a'));
    await a.signer.request('POST', '/v1/claims', { workId: work.workId, askId: 'ask-one', attempt: 1 });
    await a.signer.request('POST', '/v1/evidence', { records: [{ kind: 'runtime-message', recordId: 'rmsg-1', message: signMessage(accepted('ses-a', 'rmsg-1'), a.key) }] });
    await first.server.dispatch(a.runtimeId, { type: 'session.start', messageId: 'cmsg-2', runId: 'run-1', sessionId: 'ses-a' });
    const body = new TextEncoder().encode('{}');
    const preRestart = signHeaders({ runtimeId: a.runtimeId, key: a.key, method: 'POST', path: '/v1/heartbeat', body, timestamp: clock.now().toISOString() });
    await first.server.close();

    clock.advance(5_000);
    const second = await start({ dataDir, clock, cloudKey });
    expect(second.server.listRuntimes().map((r) => r.runtimeId)).toEqual([a.runtimeId]);
    expect((await second.server.getWork(work.workId))?.state).toBe('claimed');
    expect((await second.server.listEvidence(a.runtimeId)).map((e) => e.record.recordId)).toEqual(['rmsg-1']);
    const signer = createSigner(second.url, a.runtimeId, a.key, clock);
    const poll = await signer.request('GET', '/v1/work?after=1&wait=0');
    expect(poll.body.items.map((i: { seq: number }) => i.seq)).toEqual([2]);
    const dup = await signer.request('POST', '/v1/evidence', { records: [{ kind: 'runtime-message', recordId: 'rmsg-1', message: signMessage(accepted('ses-a', 'rmsg-1'), a.key) }] });
    expect(dup.body.acked).toEqual(['rmsg-1']);
    expect((await second.server.listEvidence(a.runtimeId))).toHaveLength(1);
    // The nonce cache is gone after a restart, so anything signed before it is stale.
    expect((await send(second.url, 'POST', '/v1/heartbeat', body, preRestart)).body.error.code).toBe('STALE_REQUEST');
    expect((await send(second.url, 'POST', '/v1/enroll', JSON.stringify(enrollBody(a.token, createKey())))).body.error.code).toBe('TOKEN_USED');
    // The database and the operator token are the owner's alone.
    expect(((await stat(join(dataDir, 'db'))).mode & 0o077)).toBe(0);
    expect(((await stat(join(dataDir, 'operator-token'))).mode & 0o077)).toBe(0);
  });
});
