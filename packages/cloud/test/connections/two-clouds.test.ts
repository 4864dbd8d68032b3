// Two `cloud serve` processes on one Postgres 15 server (Debian's, started here):
// 50 runtimes spread over both, bursts of Asks submitted to either through its
// operator API, one Cloud killed with SIGKILL mid-burst. Counted from the
// database afterwards: every Ask finished once, no (Ask, attempt) claimed twice,
// every record a runtime had acknowledged stored exactly once, no lease left held.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnrollToken, openCloudStore } from '@lumenflow/cloud';
import type { CloudStore } from '@lumenflow/cloud';
import { systemClock } from '@lumenflow/protocol';
import { verifyBundle } from '@lumenflow/verifier';
import { hasPostgres, startPostgres } from '../../../../test/support/postgres-server.js';
import type { PostgresServer } from '../../../../test/support/postgres-server.js';
import { createTempDir } from './helpers.js';

const REPO_ROOT = resolve(import.meta.dirname, '../../../..');
const CLI = ['--import', 'tsx', join(REPO_ROOT, 'scripts/lumenflow.ts')];
const SIM = join(REPO_ROOT, 'test/support/sim-runtimes.ts');
const RUNTIMES = 50;
const usePostgres = hasPostgres() || process.env['CI'] === 'true';

let pg: PostgresServer | undefined;
const children: ChildProcess[] = [];
beforeAll(async () => {
  if (usePostgres) pg = await startPostgres({ fsync: false });
}, 60_000);
afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await pg?.stop();
});

function serve(dataDir: string, databaseUrl: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [...CLI, 'cloud', 'serve', '--data-dir', dataDir, '--port', '0', '--lease', '2s', '--heartbeat', '1s', '--log-level', process.env['TWO_CLOUDS_LOG'] ?? 'silent'], {
    cwd: REPO_ROOT,
    env: { ...process.env, LUMENFLOW_DATABASE_URL: databaseUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((ok, fail) => {
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /cloud listening on (\S+)/.exec(out);
      if (m?.[1] !== undefined) ok({ child, url: m[1] });
    });
    child.once('exit', (code) => fail(new Error(`cloud serve exited ${code}: ${err}`)));
  });
}

async function until(probe: () => Promise<boolean>, what: string, limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// Each Ask is a full chain run (Rules, a signed bundle) on a 2-core machine shared with other work.
describe.runIf(usePostgres)('two Clouds on one Postgres', { timeout: 480_000 }, () => {
  it('share 50 runtimes and bursts of Asks; after one is SIGKILLed the other finishes its leases; nothing claimed twice, lost or duplicated', async () => {
    const databaseUrl = await (pg as PostgresServer).createDatabase('two_clouds');
    // One data directory for both: the shared Cloud key (runtimes pin it) and the operator token.
    const dataDir = await createTempDir('two-clouds');
    const a = await serve(dataDir, databaseUrl);
    const b = await serve(dataDir, databaseUrl);
    const operatorToken = (await readFile(join(dataDir, 'operator-token'), 'utf8')).trim();
    const store: CloudStore = await openCloudStore({ dataDir, databaseUrl });
    try {
      const tokens: string[] = [];
      for (let i = 0; i < RUNTIMES; i++) tokens.push((await createEnrollToken({ dataDir, clock: systemClock, databaseUrl })).token);
      const specFile = join(dataDir, 'sim.json');
      await writeFile(specFile, JSON.stringify({ urls: [a.url, b.url], tokens, offset: 0, labels: ['node', 'git'], records: 5, batch: 4, mode: 'handshake' }), { mode: 0o600 });
      const sim = spawn(process.execPath, ['--import', 'tsx', SIM, specFile], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(sim);
      const posted = new Set<string>();
      const claims: Array<{ claim: string; attempt: number; status: number }> = [];
      let simErr = '';
      sim.stderr?.on('data', (c: Buffer) => (simErr += c.toString()));
      let buffered = '';
      const ready = new Promise<void>((ok, fail) => {
        sim.stdout?.on('data', (c: Buffer) => {
          buffered += c.toString();
          const lines = buffered.split('\n');
          buffered = lines.pop() ?? '';
          for (const line of lines) {
            if (line === 'ready') ok();
            else if (line.startsWith('{')) {
              const event = JSON.parse(line) as { posted?: string[]; runtimeId: string; claim?: string; attempt?: number; status?: number };
              for (const id of event.posted ?? []) posted.add(`${event.runtimeId}/${id}`);
              if (event.claim !== undefined) claims.push({ claim: event.claim, attempt: event.attempt as number, status: event.status as number });
            }
          }
        });
        sim.once('exit', (code) => fail(new Error(`sim runtimes exited ${code}: ${simErr}`)));
      });
      await ready;
      expect(await store.db.query('SELECT count(*)::int AS n FROM runtimes')).toEqual([{ n: RUNTIMES }]);

      const happy = JSON.parse(await readFile(join(REPO_ROOT, 'scripts/demo/asks/happy.json'), 'utf8')) as Record<string, unknown>;
      const submit = async (url: string, askId: string): Promise<void> => {
        const res = await fetch(`${url}/v1/operator/asks`, {
          method: 'POST',
          headers: { authorization: `Bearer ${operatorToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ ask: { ...happy, askId } }),
        });
        expect(res.status, askId).toBe(200);
        expect(((await res.json()) as { created: boolean }).created).toBe(true);
      };
      const askIds: string[] = [];
      const burst = async (round: number, urls: string[], count: number): Promise<void> => {
        await Promise.all(
          Array.from({ length: count }, (_, i) => {
            const askId = `ask-r${round}-${i}`;
            askIds.push(askId);
            return submit(urls[i % urls.length] as string, askId);
          }),
        );
      };
      const doneCount = async (): Promise<number> => Number((await store.db.query<{ n: number }>("SELECT count(*)::int AS n FROM asks WHERE state = 'done'"))[0]?.n);

      await burst(0, [a.url, b.url], 8);
      await until(async () => (await doneCount()) === 8, 'the first burst', 150_000);
      // Mid-burst: Cloud A dies with Asks and runtime connections in flight.
      await burst(1, [a.url, b.url], 8);
      await until(async () => Number((await store.db.query<{ n: number }>("SELECT count(*)::int AS n FROM asks WHERE state = 'running'"))[0]?.n) > 0, 'runs in flight', 60_000);
      const exited = new Promise((r) => a.child.once('exit', r));
      a.child.kill('SIGKILL');
      await exited;
      await burst(2, [b.url], 8);
      await until(async () => (await doneCount()) === askIds.length, 'every Ask to finish on the surviving Cloud', 180_000).catch(async (error: unknown) => {
        const rows = await store.db.query("SELECT ask_id, state, owner, runs, lease_expires_ms FROM asks WHERE state <> 'done'");
        const work = await store.db.query("SELECT w.work_id, w.runtime_id, w.seq, w.ask_id, w.attempt, w.session_id, w.state, w.claimed_ms, w.lease_expires_ms, w.ended_ms, w.created_ms FROM work w JOIN asks a ON a.ask_id = w.ask_id WHERE a.state <> 'done'");
        throw new Error(`${String(error)}\nasks: ${JSON.stringify(rows)}\nwork: ${JSON.stringify(work).slice(0, 4000)}\nsim: ${simErr.slice(-2000)}`);
      });
      // Past every lease: nothing is left claimed by a runtime that no Cloud tracks.
      await until(async () => Number((await store.db.query<{ n: number }>("SELECT count(*)::int AS n FROM work WHERE state = 'claimed'"))[0]?.n) === 0, 'leases to end', 30_000);

      const outcomes = await store.db.query<{ ask_id: string; outcome: string }>('SELECT ask_id, outcome FROM asks ORDER BY ask_id');
      expect(outcomes.map((o) => o.ask_id)).toEqual([...askIds].sort());
      for (const o of outcomes) expect(JSON.parse(o.outcome), o.ask_id).toMatchObject({ askId: o.ask_id, ok: true });
      // One claim per (Ask, attempt): in the database, and as the runtimes saw it.
      expect(await store.db.query('SELECT ask_id, attempt FROM work WHERE claimed_ms IS NOT NULL GROUP BY ask_id, attempt HAVING count(*) > 1')).toEqual([]);
      const granted = claims.filter((c) => c.status === 201).map((c) => `${c.claim}#${c.attempt}`);
      expect(new Set(granted).size).toBe(granted.length);
      // Every Ask was claimed, and only an Ask whose Cloud died was claimed more than once (a later attempt).
      const perAsk = await store.db.query<{ ask_id: string; n: number }>('SELECT ask_id, count(*)::int AS n FROM work WHERE claimed_ms IS NOT NULL GROUP BY ask_id');
      expect(perAsk.map((r) => r.ask_id).sort()).toEqual([...askIds].sort());
      for (const r of perAsk) if (!r.ask_id.startsWith('ask-r1-')) expect(r.n, r.ask_id).toBe(1);
      // An Ask run again after the kill: the dead Cloud's dispatches ended when it was taken over (the
      // runtime's renewals of them refused), and the run that finished it claimed a later attempt.
      const rerun = await store.db.query<{ ask_id: string; attempt: number; session_id: string; state: string; outcome: string | null; claimed: boolean }>(
        "SELECT w.ask_id, w.attempt, w.session_id, w.state, w.outcome, w.claimed_ms IS NOT NULL AS claimed FROM work w JOIN asks a ON a.ask_id = w.ask_id WHERE a.runs > 1 ORDER BY w.ask_id, w.attempt",
      );
      for (const askId of new Set(rerun.map((r) => r.ask_id))) {
        const rows = rerun.filter((r) => r.ask_id === askId);
        const last = rows[rows.length - 1] as (typeof rows)[number];
        expect(last, askId).toMatchObject({ state: 'completed', claimed: true });
        for (const r of rows.slice(0, -1)) expect([r.state, r.outcome], askId).toEqual(['failed', 'TAKEN_OVER']);
        // The bundle is the new session's alone: nothing of a taken-over session (its late records included) is in it.
        const outcome = JSON.parse(outcomes.find((o) => o.ask_id === askId)?.outcome ?? '{}') as { dir: string };
        const files = await readdir(outcome.dir);
        const text = (await Promise.all(files.map((f) => readFile(join(outcome.dir, f), 'utf8')))).join('\n');
        expect(text, askId).toContain(last.session_id);
        for (const r of rows.slice(0, -1)) expect(text.includes(r.session_id), `${askId}: ${r.session_id} in the bundle`).toBe(false);
        // Signed and whole. (The simulated runtime makes no tool call, which the happy mode's rule asks for: that check alone is left out.)
        const report = await verifyBundle(outcome.dir);
        expect(report.checks.filter((c) => !c.ok && c.name !== 'mode.rules'), askId).toEqual([]);
      }
      expect(await store.db.query("SELECT work_id, ask_id, state FROM work WHERE state IN ('queued', 'claimed')")).toEqual([]);
      // Records: none duplicated, none that a runtime saw acknowledged is missing. Every finished Ask's
      // session had at least 7 records acknowledged, and each runtime its handshake; the simulated runtimes
      // report an acknowledgement after they receive it (on a loaded machine, a little later than Cloud stored it).
      const floor = RUNTIMES + askIds.length * 7;
      await until(async () => posted.size >= floor, `${floor} acknowledged records reported`, 30_000).catch((error: unknown) => {
        throw new Error(`${String(error)}: ${posted.size} reported; sim exit ${String(sim.exitCode)} ${simErr.slice(-2000)}`);
      });
      const [counts] = await store.db.query<{ n: number; d: number }>('SELECT count(*)::int AS n, count(DISTINCT (runtime_id, record_id))::int AS d FROM evidence');
      expect(counts?.n).toBe(counts?.d);
      const stored = new Set((await store.db.query<{ k: string }>("SELECT runtime_id || '/' || record_id AS k FROM evidence")).map((r) => r.k));
      const lost = [...posted].filter((k) => !stored.has(k));
      expect(lost).toEqual([]);
      sim.kill('SIGTERM');
    } finally {
      await store.close();
      b.child.kill('SIGTERM');
    }
  });
});
