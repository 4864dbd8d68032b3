// The store's contract, run against both adapters: embedded PGlite in a temp
// data directory, and a real Postgres 15 server started here (Debian's package).
// Every invariant is checked by racing the operations that could break it.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudError } from '../../src/errors.js';
import { openCloudStore } from '../../src/store/cloud-store.js';
import type { CloudStore, NewWork } from '../../src/store/cloud-store.js';
import { CHANNELS } from '../../src/store/cloud-store.js';
import { hasPostgres, startPostgres } from '../../../../test/support/postgres-server.js';
import type { PostgresServer } from '../../../../test/support/postgres-server.js';
import { createTempDir } from '../connections/helpers.js';

let server: PostgresServer | undefined;
let dbCount = 0;
const usePostgres = hasPostgres() || process.env['CI'] === 'true';

beforeAll(async () => {
  if (usePostgres) server = await startPostgres({ fsync: false });
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

type Adapter = 'pglite' | 'postgres';
const adapters: Adapter[] = usePostgres ? ['pglite', 'postgres'] : ['pglite'];

async function open(adapter: Adapter): Promise<CloudStore> {
  const dataDir = await createTempDir('store');
  if (adapter === 'pglite') return openCloudStore({ dataDir });
  const url = await (server as PostgresServer).createDatabase(`contract_${process.pid}_${++dbCount}`);
  return openCloudStore({ dataDir, databaseUrl: url });
}

const HOST = { os: 'linux', arch: 'x64', nodeVersion: 'v20.20.0', hostnameHash: `sha256:${'a'.repeat(64)}` };
const hash = (n: number): string => n.toString(16).padStart(64, '0');

async function enroll(store: CloudStore, n: number, keyId = `sha256:${hash(n)}`): Promise<string> {
  await store.insertToken({ tokenHash: hash(1000 + n), createdMs: 0, expiresMs: 10_000 });
  const runtimeId = `rt-${n}`;
  const out = await store.enrollRuntime({ tokenHash: hash(1000 + n), nowMs: 1, runtime: { runtimeId, keyId, publicKeyPem: 'pem', labels: ['a'], version: '1', host: HOST } });
  expect(out).toEqual({ ok: true });
  return runtimeId;
}

function newWork(askId: string | null, opts: { attempt?: number; replyTo?: string; sessionId?: string; controlSession?: string } = {}) {
  return async (seq: number, attempt: (askId: string) => Promise<number>): Promise<NewWork> => {
    const claim = askId === null ? null : { askId, attempt: opts.attempt ?? (await attempt(askId)) };
    const workId = `work-${askId ?? 'ctl'}-${seq}-${Math.random().toString(36).slice(2, 8)}`;
    return {
      workId,
      claim,
      sessionId: opts.sessionId ?? (askId === null ? null : `ses-${askId}`),
      replyTo: opts.replyTo ?? null,
      item: { workId, seq, claim, payload: 'e30=', signature: { keyId: `sha256:${hash(9)}`, value: 'AA==' } },
      createdMs: 5,
      ...(opts.controlSession === undefined ? {} : { controlSession: opts.controlSession }),
    };
  };
}

function record(id: string, sessionId = 'ses-a') {
  return {
    kind: 'runtime-message' as const,
    recordId: id,
    message: { type: 'session.ended', messageId: id, runId: 'run-a', sessionId, outcome: 'completed', reason: 'r', workspaceUnchanged: true, endedAt: '2026-12-02T00:00:00.000Z', signature: { keyId: `sha256:${hash(3)}`, value: 'AA==' } },
  } as never;
}

describe.each(adapters)('store contract (%s)', (adapter) => {
  it('migrates once, reopens at the same version, and refuses a database newer than the code', async () => {
    const dataDir = await createTempDir('store');
    const url = adapter === 'postgres' ? await (server as PostgresServer).createDatabase(`contract_${process.pid}_${++dbCount}`) : undefined;
    let store = await openCloudStore({ dataDir, databaseUrl: url });
    expect(await store.db.query('SELECT version FROM schema_migrations')).toEqual([{ version: 1 }]);
    await store.close();
    store = await openCloudStore({ dataDir, databaseUrl: url });
    expect(await store.db.query('SELECT version FROM schema_migrations')).toEqual([{ version: 1 }]);
    await store.db.query("INSERT INTO schema_migrations (version, name, applied_ms) VALUES (99, 'from the future', 0)");
    await store.close();
    const refused = await openCloudStore({ dataDir, databaseUrl: url }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CloudError);
    expect((refused as CloudError).code).toBe('SCHEMA_TOO_NEW');
    // Refusing released the database: the lock is free again.
    if (adapter === 'pglite') await expect(openCloudStore({ dataDir }).catch((e: CloudError) => e.code)).resolves.toBe('SCHEMA_TOO_NEW');
  });

  it('refuses a data directory with the file-backed state of an earlier Cloud', async () => {
    const dataDir = await createTempDir('store');
    await mkdir(join(dataDir, 'runtimes'));
    await expect(openCloudStore({ dataDir }).catch((e: CloudError) => e.code)).resolves.toBe('DATA_DIR_FILE_STATE');
  });

  it('one use per token and one runtime per key, whatever the concurrency', async () => {
    const store = await open(adapter);
    try {
      await store.insertToken({ tokenHash: hash(1), createdMs: 0, expiresMs: 10_000 });
      const sameToken = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          store.enrollRuntime({ tokenHash: hash(1), nowMs: 1, runtime: { runtimeId: `rt-t${i}`, keyId: `sha256:${hash(100 + i)}`, publicKeyPem: 'pem', labels: [], version: '1', host: HOST } }),
        ),
      );
      expect(sameToken.filter((o) => o.ok)).toHaveLength(1);
      expect(sameToken.filter((o) => !o.ok).map((o) => (o.ok ? '' : o.code))).toEqual(['TOKEN_USED', 'TOKEN_USED', 'TOKEN_USED', 'TOKEN_USED']);
      for (let i = 0; i < 6; i++) await store.insertToken({ tokenHash: hash(10 + i), createdMs: 0, expiresMs: 10_000 });
      const sameKey = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          store.enrollRuntime({ tokenHash: hash(10 + i), nowMs: 1, runtime: { runtimeId: `rt-k${i}`, keyId: `sha256:${hash(200)}`, publicKeyPem: 'pem', labels: [], version: '1', host: HOST } }),
        ),
      );
      expect(sameKey.filter((o) => o.ok)).toHaveLength(1);
      expect(sameKey.filter((o) => !o.ok).every((o) => !o.ok && o.code === 'KEY_ALREADY_ENROLLED')).toBe(true);
      // The five refused tokens were not burned.
      const unused = await store.db.query('SELECT count(*)::int AS n FROM enroll_tokens WHERE used_ms IS NULL');
      expect(unused).toEqual([{ n: 5 }]);
      await store.insertToken({ tokenHash: hash(30), createdMs: 0, expiresMs: 10 });
      expect(await store.enrollRuntime({ tokenHash: hash(30), nowMs: 10, runtime: { runtimeId: 'rt-late', keyId: `sha256:${hash(300)}`, publicKeyPem: 'pem', labels: [], version: '1', host: HOST } })).toEqual({ ok: false, code: 'TOKEN_EXPIRED' });
      expect(await store.enrollRuntime({ tokenHash: hash(31), nowMs: 1, runtime: { runtimeId: 'rt-none', keyId: `sha256:${hash(301)}`, publicKeyPem: 'pem', labels: [], version: '1', host: HOST } })).toEqual({ ok: false, code: 'TOKEN_INVALID' });
      // The database itself refuses a second runtime on a key, and a used token without its runtime.
      await expect(store.db.query(`INSERT INTO runtimes (runtime_id, key_id, public_key_pem, labels, version, host, enrolled_ms, last_seen_ms) VALUES ('rt-x', 'sha256:${hash(200)}', 'p', '[]', '1', '{}', 0, 0)`)).rejects.toMatchObject({ code: '23505' });
      await expect(store.db.query(`UPDATE enroll_tokens SET used_ms = 1 WHERE token_hash = '${hash(30)}'`)).rejects.toMatchObject({ code: '23514' });
    } finally {
      await store.close();
    }
  });

  it('dispatch sequence numbers per runtime in order; one claim per (Ask, attempt) and one live claim per Ask', async () => {
    const store = await open(adapter);
    try {
      const rt = await enroll(store, 1);
      const made = await Promise.all(Array.from({ length: 10 }, (_, i) => store.insertWork(rt, newWork(`ask-${i}`))));
      expect(made.map((w) => w.seq).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect((await store.pollWork(rt, 4, 100)).map((i) => i.seq)).toEqual([5, 6, 7, 8, 9, 10]);
      // The same (Ask, attempt) may be offered to two runtimes; only one of them can ever claim it.
      const rt2 = await enroll(store, 2);
      const twin = await store.insertWork(rt2, newWork('ask-0', { attempt: 1, sessionId: 'ses-twin' }));
      await expect(store.insertWork('rt-none', newWork('ask-z'))).rejects.toBeInstanceOf(RangeError);
      const w = made[0] as (typeof made)[number];
      const claims = await Promise.all(
        Array.from({ length: 5 }, (_, i) => store.claimWork({ runtimeId: rt, workId: w.workId, askId: 'ask-0', attempt: 1, nowMs: 100, leaseMs: 1000, leaseId: `lease-${i}` })),
      );
      const created = claims.filter((c) => c.ok && c.status === 201);
      expect(created).toHaveLength(1);
      // The others got the lease that is held, not one of their own.
      const held = created[0]?.ok ? created[0].leaseId : '';
      expect(claims.every((c) => c.ok && c.leaseId === held)).toBe(true);
      expect(await store.claimWork({ runtimeId: rt2, workId: twin.workId, askId: 'ask-0', attempt: 1, nowMs: 100, leaseMs: 1000, leaseId: 'lease-twin' })).toMatchObject({ ok: false, code: 'CLAIM_CONFLICT' });
      // A second attempt of the same Ask cannot be claimed while the first is live.
      const second = await store.insertWork(rt, newWork('ask-0', { attempt: 2 }));
      expect(second.claim).toEqual({ askId: 'ask-0', attempt: 2 });
      expect(await store.claimWork({ runtimeId: rt, workId: second.workId, askId: 'ask-0', attempt: 2, nowMs: 100, leaseMs: 1000, leaseId: 'lease-b' })).toMatchObject({ ok: false, code: 'CLAIM_CONFLICT' });
      expect(await store.claimWork({ runtimeId: 'rt-other', workId: second.workId, askId: 'ask-0', attempt: 2, nowMs: 100, leaseMs: 1000, leaseId: 'lease-c' })).toMatchObject({ ok: false, code: 'WORK_UNKNOWN' });
      expect(await store.renewLease({ runtimeId: rt, askId: 'ask-0', attempt: 1, leaseId: held, nowMs: 500, leaseMs: 1000 })).toBe(1500);
      expect(await store.renewLease({ runtimeId: rt, askId: 'ask-0', attempt: 1, leaseId: 'lease-wrong', nowMs: 500, leaseMs: 1000 })).toBeUndefined();
      // A reply to one runtime message is stored once, whoever sends it.
      const replies = await Promise.all([store.insertWork(rt, newWork(null, { replyTo: 'rmsg-1' })), store.insertWork(rt, newWork(null, { replyTo: 'rmsg-1' }))]);
      expect(replies[0].workId).toBe(replies[1].workId);
    } finally {
      await store.close();
    }
  });

  it('dispatches fired together share one commit: each runtime\'s numbers in queue order, an unknown runtime fails alone, a repeated reply is the first', async () => {
    const store = await open(adapter);
    try {
      const [a, b] = [await enroll(store, 1), await enroll(store, 2)];
      // Fired together: they go in one batch (the store waits one turn of the event loop).
      const calls = [
        store.insertWork(a, newWork('ask-1')),
        store.insertWork(b, newWork('ask-2')),
        store.insertWork(a, newWork('ask-3')),
        store.insertWork('rt-none', newWork('ask-4')),
        store.insertWork(a, newWork(null, { replyTo: 'rmsg-9' })),
        store.insertWork(b, newWork('ask-5')),
        store.insertWork(a, newWork(null, { replyTo: 'rmsg-9' })),
      ];
      const settled = await Promise.allSettled(calls);
      expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
      expect((settled[3] as PromiseRejectedResult).reason).toBeInstanceOf(RangeError);
      const rows = settled.map((s) => (s.status === 'fulfilled' ? s.value : undefined));
      expect(rows.map((r) => (r === undefined ? null : `${r.runtimeId}#${r.seq}`))).toEqual([`${a}#1`, `${b}#1`, `${a}#2`, null, `${a}#3`, `${b}#2`, `${a}#3`]);
      expect(rows[6]?.workId).toBe(rows[4]?.workId);
      // What a runtime polls is what was committed, in order, and each item's signed body names its own number.
      expect((await store.pollWork(a, 0, 100)).map((i) => i.seq)).toEqual([1, 2, 3]);
      expect((await store.pollWork(b, 1, 100)).map((i) => [i.seq, i.claim?.askId])).toEqual([[2, 'ask-5']]);
      // Polls fired together are one read: each gets its own runtime's items after its own number, up to its own limit.
      const polls = await Promise.all([store.pollWork(a, 0, 100), store.pollWork(b, 0, 100), store.pollWork(a, 1, 1), store.pollWork('rt-none', 0, 10), store.pollWork(b, 2, 10)]);
      expect(polls.map((items) => items.map((i) => i.seq))).toEqual([[1, 2, 3], [1, 2], [2], [], []]);
    } finally {
      await store.close();
    }
  });

  it('claims and session ends fired together: one claim per Ask and per dispatch, a repeat gets the held lease, each session ends once', async () => {
    const store = await open(adapter);
    try {
      const [a, b] = [await enroll(store, 1), await enroll(store, 2)];
      const w1 = await store.insertWork(a, newWork('ask-1', { attempt: 1 }));
      const twin = await store.insertWork(b, newWork('ask-1', { attempt: 1, sessionId: 'ses-twin' }));
      const w2 = await store.insertWork(a, newWork('ask-2'));
      const w3 = await store.insertWork(b, newWork('ask-3'));
      const claim = (runtimeId: string, w: { workId: string; claim: { askId: string; attempt: number } | null }, leaseId: string) =>
        store.claimWork({ runtimeId, workId: w.workId, askId: w.claim?.askId ?? '', attempt: w.claim?.attempt ?? 0, nowMs: 100, leaseMs: 1000, leaseId });
      const out = await Promise.all([claim(a, w3, 'l-wrong-runtime'), claim(a, w1, 'l1'), claim(b, twin, 'l-twin'), claim(a, w2, 'l2'), claim(a, w2, 'l2-again'), claim(b, w3, 'l3')]);
      expect(out.map((o) => (o.ok ? `${o.status}:${o.leaseId}` : o.code))).toEqual(['WORK_UNKNOWN', '201:l1', 'CLAIM_CONFLICT', '201:l2', '200:l2', '201:l3']);
      const ends = await Promise.all([
        store.completeSession(a, 'ses-ask-1', 'completed', 200),
        store.completeSession(a, 'ses-ask-2', 'halted', 200),
        store.completeSession(a, 'ses-ask-2', 'completed', 201),
        store.completeSession(a, 'ses-ask-3', 'completed', 200),
        store.completeSession(b, 'ses-ask-3', 'completed', 202),
      ]);
      expect(ends.map((e) => (e === undefined ? null : `${e.sessionId}:${e.state}:${e.outcome}`))).toEqual([
        'ses-ask-1:completed:completed',
        'ses-ask-2:completed:halted',
        null,
        null,
        'ses-ask-3:completed:completed',
      ]);
    } finally {
      await store.close();
    }
  });

  it('expired leases are taken by exactly one sweeper', async () => {
    const store = await open(adapter);
    try {
      const rt = await enroll(store, 1);
      for (let i = 0; i < 20; i++) {
        const w = await store.insertWork(rt, newWork(`ask-${i}`));
        expect((await store.claimWork({ runtimeId: rt, workId: w.workId, askId: `ask-${i}`, attempt: 1, nowMs: 0, leaseMs: 100, leaseId: `lease-${i}` })).ok).toBe(true);
      }
      const swept = await Promise.all([store.expireLeases(1000, 7), store.expireLeases(1000, 7), store.expireLeases(1000, 7), store.expireLeases(1000, 7)]);
      const ids = swept.flat().map((w) => w.workId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.length + (await store.expireLeases(1000, 100)).length).toBe(20);
      expect(await store.db.query("SELECT count(*)::int AS n FROM work WHERE state = 'failed' AND outcome = 'LEASE_EXPIRED'")).toEqual([{ n: 20 }]);
    } finally {
      await store.close();
    }
  });

  it('evidence: one record per record id, appended and never changed, announced by NOTIFY', async () => {
    const store = await open(adapter);
    try {
      const rt = await enroll(store, 1);
      const notices: string[] = [];
      await store.listen(CHANNELS.evidence, (p) => notices.push(p));
      const batches = await Promise.all([
        store.appendEvidence({ origin: 'a', runtimeId: rt, receivedMs: 1, records: [record('r1'), record('r2')] }),
        store.appendEvidence({ origin: 'b', runtimeId: rt, receivedMs: 1, records: [record('r2'), record('r3')] }),
        store.appendEvidence({ origin: 'c', runtimeId: rt, receivedMs: 1, records: [record('r1'), record('r3')] }),
      ]);
      expect(batches.flatMap((s) => [...s]).sort()).toEqual(['r1', 'r2', 'r3']);
      expect((await store.listEvidence(rt)).map((e) => e.record.recordId).sort()).toEqual(['r1', 'r2', 'r3']);
      expect((await store.sessionEvidence('ses-a')).length).toBe(3);
      expect([...(await store.knownRecordIds(rt, ['r1', 'r9']))]).toEqual(['r1']);
      await expect(store.db.query("UPDATE evidence SET record = '{}'")).rejects.toMatchObject({ code: 'P0001' });
      await expect(store.db.query('DELETE FROM evidence')).rejects.toMatchObject({ code: 'P0001' });
      await expect(store.db.query(`INSERT INTO evidence (runtime_id, record_id, kind, received_ms, record) VALUES ('${rt}', 'r1', 'runtime-message', 0, '{}')`)).rejects.toMatchObject({ code: '23505' });
      const deadline = Date.now() + 5_000;
      while (notices.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const seqs = notices.flatMap((p) => (JSON.parse(p) as { seqs: number[] }).seqs);
      expect(seqs).toHaveLength(3);
      expect((await store.readEvidence(rt, seqs)).map((e) => e.record.recordId).sort()).toEqual(['r1', 'r2', 'r3']);
    } finally {
      await store.close();
    }
  });

  it('concurrent appends share one commit: each record stored once, each caller told what it stored, a bad append fails alone', async () => {
    const store = await open(adapter);
    try {
      const [a, b] = [await enroll(store, 1), await enroll(store, 2)];
      const notices: string[] = [];
      await store.listen(CHANNELS.evidence, (p) => notices.push(p));
      // Fired together: they go in one batch (the store waits one turn of the event loop).
      const calls = [
        store.appendEvidence({ origin: 'o1', runtimeId: a, receivedMs: 1, records: [record('x1')] }),
        store.appendEvidence({ origin: 'o1', runtimeId: a, receivedMs: 2, records: [record('x1'), record('x2')] }),
        store.appendEvidence({ origin: 'o2', runtimeId: b, receivedMs: 3, records: [record('x1', 'ses-b'), record('x3', 'ses-b')] }),
        store.appendEvidence({ origin: 'o1', runtimeId: 'rt-unknown', receivedMs: 4, records: [record('x9')] }),
        store.appendEvidence({ origin: 'o1', runtimeId: a, receivedMs: 5, records: [record('x2'), record('x4')] }),
      ];
      const results = await Promise.allSettled(calls);
      const sets = results.map((r) => (r.status === 'fulfilled' ? [...r.value].sort() : 'rejected'));
      expect(sets).toEqual([['x1'], ['x2'], ['x1', 'x3'], 'rejected', ['x4']]);
      expect(results[3]).toMatchObject({ status: 'rejected', reason: { code: '23503' } });
      const stored = await store.db.query<{ runtime_id: string; record_id: string; received_ms: unknown }>('SELECT runtime_id, record_id, received_ms FROM evidence ORDER BY seq');
      expect(stored.map((r) => `${r.runtime_id}/${r.record_id}@${Number(r.received_ms)}`)).toEqual([`${a}/x1@1`, `${a}/x2@2`, `${b}/x1@3`, `${b}/x3@3`, `${a}/x4@5`]);
      const deadline = Date.now() + 5_000;
      const announced = (): string[] => notices.flatMap((p) => (JSON.parse(p) as { seqs: number[] }).seqs.map(String));
      while (announced().length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(announced()).toHaveLength(5);
      const perNotice = notices.map((p) => JSON.parse(p) as { origin: string; runtimeId: string; sessions: string[] });
      expect(perNotice.every((n) => (n.runtimeId === b ? n.origin === 'o2' && n.sessions.join() === 'ses-b' : n.origin === 'o1'))).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('nonces fired together in one batch: the first use of each is new, every repeat is a replay', async () => {
    const store = await open(adapter);
    try {
      const [a, b] = [await enroll(store, 1), await enroll(store, 2)];
      const tries = await Promise.all([
        store.rememberNonce(a, 'n0', 100),
        store.rememberNonce(a, 'n1', 100),
        store.rememberNonce(b, 'n1', 100),
        store.rememberNonce(a, 'n1', 100),
        store.rememberNonce(a, 'n2', 100),
        store.rememberNonce(a, 'n0', 100),
      ]);
      expect(tries).toEqual([true, true, true, false, true, false]);
    } finally {
      await store.close();
    }
  });

  it('nonces are refused the second time and pruned after they expire', async () => {
    const store = await open(adapter);
    try {
      const rt = await enroll(store, 1);
      const tries = await Promise.all([store.rememberNonce(rt, 'n1', 100), store.rememberNonce(rt, 'n1', 100), store.rememberNonce(rt, 'n1', 100)]);
      expect(tries.filter(Boolean)).toHaveLength(1);
      expect(await store.pruneNonces(101)).toBe(1);
      expect(await store.rememberNonce(rt, 'n1', 200)).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('Asks are taken by one Cloud at a time and taken over only after the lease lapses', async () => {
    const store = await open(adapter);
    try {
      for (let i = 0; i < 4; i++) expect(await store.submitAsk(`ask-${i}`, '{}', i)).toBe(true);
      expect(await store.submitAsk('ask-0', '{}', 9)).toBe(false);
      const taken = await Promise.all([store.takeAsk('cloud-a', 10, 100), store.takeAsk('cloud-b', 10, 100), store.takeAsk('cloud-a', 10, 100), store.takeAsk('cloud-b', 10, 100), store.takeAsk('cloud-a', 10, 100)]);
      const ids = taken.flatMap((t) => (t === undefined ? [] : [t.askId]));
      expect(ids.sort()).toEqual(['ask-0', 'ask-1', 'ask-2', 'ask-3']);
      await store.renewAskLeases('cloud-a', 50, 100);
      const after = await store.takeAsk('cloud-c', 120, 100);
      // cloud-b's leases lapsed at 110; cloud-a renewed to 150.
      const ofB = taken.flatMap((t, i) => (t !== undefined && i % 2 === 1 ? [t.askId] : []));
      expect(ofB).toContain(after?.askId);
      expect(after?.runs).toBe(2);
      expect(await store.finishAsk(after?.askId as string, { owner: 'cloud-b', runs: 1 }, '{"late":true}', 130)).toBe(false);
      expect(await store.finishAsk(after?.askId as string, { owner: 'cloud-c', runs: 2 }, '{"ok":true}', 130)).toBe(true);
      expect((await store.readAsk(after?.askId as string))?.outcome).toBe('{"ok":true}');
    } finally {
      await store.close();
    }
  });

  it("a take-over ends the old run's claim: its renewal is refused, the new dispatch is the next attempt and can be claimed", async () => {
    const store = await open(adapter);
    try {
      const rt = await enroll(store, 1);
      await store.submitAsk('ask-t', '{}', 0);
      expect((await store.takeAsk('cloud-a', 10, 100))?.runs).toBe(1);
      // cloud-a's run: its session is claimed, and the runtime keeps renewing it after cloud-a is gone.
      const first = await store.insertWork(rt, newWork('ask-t', { sessionId: 'ses-a' }));
      expect(first.claim).toEqual({ askId: 'ask-t', attempt: 1 });
      const lease = await store.claimWork({ runtimeId: rt, workId: first.workId, askId: 'ask-t', attempt: 1, nowMs: 20, leaseMs: 1000, leaseId: 'lease-a' });
      expect(lease).toMatchObject({ ok: true, status: 201 });
      expect(await store.renewLease({ runtimeId: rt, askId: 'ask-t', attempt: 1, leaseId: 'lease-a', nowMs: 200, leaseMs: 1000 })).toBe(1200);
      // A second dispatch of cloud-a's run (never claimed) is ended too.
      const queued = await store.insertWork(rt, newWork('ask-t', { sessionId: 'ses-a2' }));
      expect(queued.claim?.attempt).toBe(2);

      // cloud-a's Ask lease lapsed at 110: cloud-b takes it over.
      const taken = await store.takeAsk('cloud-b', 300, 100);
      expect(taken).toMatchObject({ askId: 'ask-t', runs: 2 });
      expect(taken?.ended.map((w) => [w.workId, w.state, w.outcome]).sort()).toEqual(
        [
          [first.workId, 'failed', 'TAKEN_OVER'],
          [queued.workId, 'failed', 'TAKEN_OVER'],
        ].sort(),
      );
      // The runtime's next renewal of the old session is refused: it stops that session.
      expect(await store.renewLease({ runtimeId: rt, askId: 'ask-t', attempt: 1, leaseId: 'lease-a', nowMs: 400, leaseMs: 1000 })).toBeUndefined();
      expect(await store.claimWork({ runtimeId: rt, workId: queued.workId, askId: 'ask-t', attempt: 2, nowMs: 400, leaseMs: 1000, leaseId: 'lease-q' })).toMatchObject({ ok: false, code: 'CLAIM_CONFLICT' });
      // The old sessions are never sent again, nor started.
      await expect(store.insertWork(rt, newWork('ask-t', { sessionId: 'ses-a' }))).rejects.toThrow(/taken over/);
      await expect(store.insertWork(rt, newWork(null, { controlSession: 'ses-a' }))).rejects.toThrow(/taken over/);
      // Refused alone: a dispatch committed with it in one batch is stored.
      const together = await Promise.allSettled([store.insertWork(rt, newWork(null, { controlSession: 'ses-a' })), store.insertWork(rt, newWork(null, { replyTo: 'rmsg-t' }))]);
      expect(together.map((t) => t.status)).toEqual(['rejected', 'fulfilled']);
      // cloud-b's run dispatches the next attempt over every earlier one, and the runtime can claim it.
      const next = await store.insertWork(rt, newWork('ask-t', { sessionId: 'ses-b' }));
      expect(next.claim).toEqual({ askId: 'ask-t', attempt: 3 });
      expect(await store.claimWork({ runtimeId: rt, workId: next.workId, askId: 'ask-t', attempt: 3, nowMs: 400, leaseMs: 1000, leaseId: 'lease-b' })).toMatchObject({ ok: true, status: 201 });
      expect(await store.renewLease({ runtimeId: rt, askId: 'ask-t', attempt: 3, leaseId: 'lease-b', nowMs: 500, leaseMs: 1000 })).toBe(1500);
      // The late session.ended of the old session changes nothing; the new one completes its own work.
      expect(await store.completeSession(rt, 'ses-a', 'halted', 600)).toBeUndefined();
      expect(await store.completeSession(rt, 'ses-b', 'completed', 600)).toMatchObject({ workId: next.workId, state: 'completed' });
      // cloud-a, paused rather than dead, comes back: it can neither keep, release nor finish the Ask.
      await store.renewAskLeases('cloud-a', 700, 100);
      expect((await store.readAsk('ask-t'))?.owner).toBe('cloud-b');
      await store.releaseAsk('ask-t', { owner: 'cloud-a', runs: 1 }, 'queued');
      expect(await store.finishAsk('ask-t', { owner: 'cloud-a', runs: 1 }, '{"late":true}', 700)).toBe(false);
      expect(await store.finishAsk('ask-t', { owner: 'cloud-b', runs: 2 }, '{"ok":true}', 700)).toBe(true);
      expect(await store.db.query('SELECT ask_id, attempt FROM work WHERE claimed_ms IS NOT NULL GROUP BY ask_id, attempt HAVING count(*) > 1')).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('attempt numbers of one Ask are distinct whichever Clouds dispatch it at once', async () => {
    const store = await open(adapter);
    try {
      const rts = [await enroll(store, 1), await enroll(store, 2), await enroll(store, 3)];
      const made = await Promise.all(Array.from({ length: 9 }, (_, i) => store.insertWork(rts[i % 3] as string, newWork('ask-r', { sessionId: `ses-r${i}` }))));
      expect(made.map((w) => w.claim?.attempt).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    } finally {
      await store.close();
    }
  });

  it('a run that lost its Ask (to another Cloud, or to a later take by its own) can neither store an approval nor release or finish it', async () => {
    const store = await open(adapter);
    try {
      await store.submitAsk('ask-p', '{}', 0);
      await store.takeAsk('cloud-a', 1, 100);
      expect(await store.takeAsk('cloud-b', 500, 100)).toMatchObject({ askId: 'ask-p', runs: 2 });
      const late = { approvalId: 'apr-late', askId: 'ask-p', runId: 'run-a', requestedMs: 600, expiresMs: 9000, snapshot: '{}' };
      expect(await store.savePendingApproval({ ...late, hold: { owner: 'cloud-a', runs: 1 } })).toBe(false);
      expect(await store.listPendingApprovals()).toEqual([]);
      expect(await store.savePendingApproval({ ...late, approvalId: 'apr-b', runId: 'run-b', hold: { owner: 'cloud-b', runs: 2 } })).toBe(true);
      // A Cloud that stalls past its own lease and takes the Ask again: its earlier run holds nothing either.
      await store.submitAsk('ask-s', '{}', 1);
      expect(await store.takeAsk('cloud-c', 1, 100)).toMatchObject({ askId: 'ask-s', runs: 1 });
      expect(await store.takeAsk('cloud-c', 500, 100)).toMatchObject({ askId: 'ask-s', runs: 2 });
      expect(await store.savePendingApproval({ ...late, askId: 'ask-s', approvalId: 'apr-s', hold: { owner: 'cloud-c', runs: 1 } })).toBe(false);
      await store.releaseAsk('ask-s', { owner: 'cloud-c', runs: 1 }, 'queued');
      expect(await store.finishAsk('ask-s', { owner: 'cloud-c', runs: 1 }, '{"stale":true}', 600)).toBe(false);
      expect(await store.readAsk('ask-s')).toMatchObject({ state: 'running', owner: 'cloud-c', runs: 2 });
      expect(await store.finishAsk('ask-s', { owner: 'cloud-c', runs: 2 }, '{"ok":true}', 600)).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('an approval takes one answer and settles once; a lapsed run at its gate is paused, not run again', async () => {
    const store = await open(adapter);
    try {
      await store.submitAsk('ask-1', '{}', 0);
      await store.takeAsk('cloud-a', 1, 100);
      await store.savePendingApproval({ approvalId: 'apr-1', askId: 'ask-1', runId: 'run-1', requestedMs: 1, expiresMs: 1000, snapshot: '{}' });
      expect((await store.readAsk('ask-1'))?.state).toBe('running');
      expect(await store.takeAsk('cloud-b', 10_000, 100)).toBeUndefined();
      expect((await store.readAsk('ask-1'))?.state).toBe('paused');
      const answers = await Promise.all([store.answerApproval('apr-1', '{"a":1}', 2), store.answerApproval('apr-1', '{"a":2}', 2)]);
      expect(answers.filter(Boolean)).toHaveLength(1);
      expect((await store.listPendingApprovals()).map((a) => a.approvalId)).toEqual(['apr-1']);
      const settles = await Promise.all([store.settleApproval('apr-1', '{"s":1}', { askId: 'ask-1', json: '{"done":1}' }, 3), store.settleApproval('apr-1', '{"s":2}', { askId: 'ask-1', json: '{"done":2}' }, 3)]);
      expect(settles.filter(Boolean)).toHaveLength(1);
      expect(await store.listPendingApprovals()).toEqual([]);
      expect((await store.readAsk('ask-1'))?.state).toBe('done');
    } finally {
      await store.close();
    }
  });
});
