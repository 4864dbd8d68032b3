// pnpm bench:connections [--store pglite|postgres] [--clouds N] [--runtimes N]
// 200 connected runtimes (two worker processes of simulated runtimes, each with its
// own Ed25519 key, signing every request and record) against N Cloud processes
// on one store: the embedded PGlite (one Cloud) or a Postgres 15 server from
// Debian's package started here (fsync on). Dispatches go to the Clouds in turn.
// Prints: dispatch latency p50/p99 idle and in bursts (submitted -> claimed),
// receipts acknowledged per second, each Cloud's RSS, and, counted from the
// database afterwards, Asks claimed more than once and records lost or duplicated.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { issueEnrollToken, openCloudStore, openConnectionsServer } from '@lumenflow/cloud';
import { systemClock } from '@lumenflow/protocol';
import type { Ask } from '@lumenflow/protocol';
import { loadOrCreateSigningKey } from '@lumenflow/verifier';
import { startPostgres } from '../../test/support/postgres-server.js';
import type { PostgresServer } from '../../test/support/postgres-server.js';

const WORKERS = 2;
const ROUNDS = 3;
const SINGLES = 100;
const RECORDS_PER_ASK = 20;
const BATCH = 10;
const DEADLINE_MS = 240_000;
const SIM = resolve(import.meta.dirname, '../../test/support/sim-runtimes.ts');

function ask(askId: string): Ask {
  return {
    schemaVersion: 1,
    askId,
    operator: { id: 'op.bench', displayName: 'Bench' },
    intent: 'benchmark dispatch',
    workspace: { repository: 'lumenflow-demo/calc', baseBranch: 'main' },
    requestedScopes: [{ kind: 'fs.read', path: 'src/calc.js' }],
    runtimeLabels: ['bench'],
    createdAt: '2026-11-23T09:00:00.000Z',
  };
}

// ---- one Cloud process: the Connections server on the store, driven by JSON lines on stdin ----

async function runCloudProcess(dataDir: string, databaseUrl: string | undefined): Promise<void> {
  const signingKey = (await loadOrCreateSigningKey({ defaultPath: join(dataDir, 'cloud-key.pem'), env: {} })).key;
  const store = await openCloudStore({ dataDir, databaseUrl });
  const out = (line: string): void => void process.stdout.write(`${line}\n`);
  let peakRss = 0;
  setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100).unref();
  const server = await openConnectionsServer({
    dataDir,
    store,
    signingKey,
    clock: systemClock,
    leaseMs: 60_000,
    heartbeatIntervalMs: 30_000,
    log: (event, fields) => {
      if (event === 'work.claimed') out(`claimed ${String(fields['askId'])} ${Date.now()}`);
    },
  });
  const { url } = await server.listen(0);
  out(`url ${url}`);
  for await (const line of createInterface({ input: process.stdin })) {
    const cmd = JSON.parse(line) as { op: string; n?: number; runtimeId?: string; askId?: string };
    if (cmd.op === 'tokens') {
      const tokens: string[] = [];
      for (let i = 0; i < (cmd.n ?? 0); i++) tokens.push((await issueEnrollToken(store, { clock: systemClock, ttlMs: 3_600_000 })).token);
      out(`tokens ${JSON.stringify(tokens)}`);
    } else if (cmd.op === 'runtimes') {
      out(`runtimes ${JSON.stringify((await store.listRuntimes()).map((r) => r.runtimeId))}`);
    } else if (cmd.op === 'dispatch') {
      const askId = cmd.askId as string;
      const runtimeId = cmd.runtimeId as string;
      void server.dispatch(runtimeId, {
        type: 'session.open',
        messageId: `cmsg-${askId}`,
        runId: `run-${askId}`,
        sessionId: `ses-${askId}`,
        runtimeId,
        ask: ask(askId),
        cloudRules: { fileName: 'bench.yaml', document: { version: 1, rules: [] } },
      });
    } else if (cmd.op === 'cpu') {
      const used = process.cpuUsage();
      out(`cpu ${(used.user + used.system) / 1000}`);
    } else if (cmd.op === 'stats') {
      const q = async (sql: string): Promise<number> => Number((await store.db.query<{ n: number }>(sql))[0]?.n ?? 0);
      const stats = {
        evidence: await q('SELECT count(*)::int AS n FROM evidence'),
        distinctEvidence: await q('SELECT count(DISTINCT (runtime_id, record_id))::int AS n FROM evidence'),
        claimedTwice: await q('SELECT count(*)::int AS n FROM (SELECT ask_id FROM work WHERE claimed_ms IS NOT NULL GROUP BY ask_id HAVING count(*) > 1) AS t'),
        claimedAsks: await q('SELECT count(DISTINCT ask_id)::int AS n FROM work WHERE claimed_ms IS NOT NULL'),
        rss: process.memoryUsage().rss,
        peakRss: Math.max(peakRss, process.memoryUsage().rss),
      };
      out(`stats ${JSON.stringify(stats)}`);
    } else if (cmd.op === 'stop') {
      await server.close();
      await store.close();
      process.exit(0);
    }
  }
}

// ---- the bench ----

interface CloudProc {
  child: ChildProcess;
  url: string;
  send(cmd: unknown): void;
  next(prefix: string): Promise<string>;
}

function startCloudProc(dataDir: string, databaseUrl: string | undefined, onClaim: (askId: string, at: number) => void): Promise<CloudProc> {
  const child = spawn(process.execPath, ['--import', 'tsx', import.meta.filename, '--cloud', dataDir, databaseUrl ?? ''], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting: Array<{ prefix: string; resolve: (rest: string) => void }> = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    if (line.startsWith('claimed ')) {
      const [, askId, at] = line.split(' ');
      onClaim(askId as string, Number(at));
      return;
    }
    const i = waiting.findIndex((w) => line.startsWith(`${w.prefix} `));
    if (i >= 0) {
      const [w] = waiting.splice(i, 1);
      w?.resolve(line.slice(w.prefix.length + 1));
    }
  });
  const next = (prefix: string): Promise<string> =>
    new Promise((res, rej) => {
      waiting.push({ prefix, resolve: res });
      child.once('exit', (code) => rej(new Error(`a Cloud process exited with code ${code}`)));
    });
  const send = (cmd: unknown): void => void child.stdin?.write(`${JSON.stringify(cmd)}\n`);
  return next('url').then((url) => ({ child, url, send, next }));
}

function parseArgs(argv: string[]): { store: 'pglite' | 'postgres'; clouds: number; runtimes: number } {
  let store: 'pglite' | 'postgres' = 'pglite';
  let clouds = 1;
  let runtimes = 200;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag === '--store' && (value === 'pglite' || value === 'postgres')) store = value;
    else if (flag === '--clouds' && /^[1-8]$/.test(value ?? '')) clouds = Number(value);
    else if (flag === '--runtimes' && /^[1-9][0-9]{0,3}$/.test(value ?? '')) runtimes = Number(value);
    else throw new Error(`usage: bench:connections [--store pglite|postgres] [--clouds 1-8] [--runtimes N] (at ${flag ?? ''})`);
    i++;
  }
  if (store === 'pglite' && clouds !== 1) throw new Error('--store pglite holds the database inside one Cloud process: use --clouds 1, or --store postgres');
  return { store, clouds, runtimes: runtimes - (runtimes % WORKERS) };
}

async function runBench(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const dataDir = await mkdtemp(join(tmpdir(), 'lf-bench-cloud-'));
  let pg: PostgresServer | undefined;
  const children: ChildProcess[] = [];
  try {
    let databaseUrl: string | undefined;
    if (args.store === 'postgres') {
      pg = await startPostgres();
      databaseUrl = await pg.createDatabase('bench');
    }
    const claimedAt = new Map<string, number>();
    const onClaim = (askId: string, at: number): void => void (claimedAt.has(askId) || claimedAt.set(askId, at));
    // The first Cloud makes the key the others share (runtimes pin it) and migrates the database.
    const clouds: CloudProc[] = [await startCloudProc(dataDir, databaseUrl, onClaim)];
    for (let i = 1; i < args.clouds; i++) clouds.push(await startCloudProc(dataDir, databaseUrl, onClaim));
    children.push(...clouds.map((c) => c.child));
    const first = clouds[0] as CloudProc;
    first.send({ op: 'tokens', n: args.runtimes });
    const tokens = JSON.parse(await first.next('tokens')) as string[];

    let acked = 0;
    let firstAckAt = 0;
    let lastAckAt = 0;
    let counting = false;
    let workerDied: Error | undefined;
    const per = args.runtimes / WORKERS;
    const workers: ChildProcess[] = [];
    const ready: Promise<void>[] = [];
    for (let w = 0; w < WORKERS; w++) {
      const spec = join(dataDir, `sim-${w}.json`);
      await writeFile(spec, JSON.stringify({ urls: clouds.map((c) => c.url), tokens: tokens.slice(w * per, (w + 1) * per), offset: w * per, labels: ['bench'], records: RECORDS_PER_ASK, batch: BATCH, mode: 'bare' }), { mode: 0o600 });
      const child = spawn(process.execPath, ['--import', 'tsx', SIM, spec], { stdio: ['ignore', 'pipe', 'inherit'] });
      workers.push(child);
      children.push(child);
      child.once('exit', (code) => (workerDied ??= new Error(`a runtime worker exited with code ${code}`)));
      ready.push(
        new Promise((res, rej) => {
          createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
            if (line === 'ready') res();
            else if (line.startsWith('{"posted"')) {
              const n = (JSON.parse(line) as { posted: string[] }).posted.length;
              const now = performance.timeOrigin + performance.now();
              acked += n;
              if (counting) {
                if (firstAckAt === 0) firstAckAt = now;
                lastAckAt = now;
              }
            }
          });
          child.once('exit', (code) => rej(new Error(`a runtime worker exited with code ${code} while enrolling`)));
        }),
      );
    }
    const enrollStart = performance.now();
    await Promise.all(ready);
    const enrollMs = performance.now() - enrollStart;
    first.send({ op: 'runtimes' });
    const runtimes = (JSON.parse(await first.next('runtimes')) as string[]).sort();
    if (runtimes.length !== args.runtimes) throw new Error(`expected ${args.runtimes} runtimes, got ${runtimes.length}`);

    const deadline = performance.now() + DEADLINE_MS;
    let sent = 0;
    const now = (): number => performance.timeOrigin + performance.now();
    const open = (runtimeId: string, askId: string): number => {
      const at = now();
      (clouds[sent++ % clouds.length] as CloudProc).send({ op: 'dispatch', runtimeId, askId });
      return at;
    };
    const waitFor = async (done: () => boolean, what: string): Promise<void> => {
      while (!done()) {
        if (workerDied !== undefined) throw workerDied;
        if (performance.now() > deadline) throw new Error(`bench deadline passed waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 1));
      }
    };
    const perAsk = RECORDS_PER_ASK + 2;

    const single: number[] = [];
    for (let i = 0; i < SINGLES; i++) {
      await waitFor(() => acked >= i * perAsk, 'the previous Ask to finish');
      const askId = `ask-single-${i}`;
      const at = open(runtimes[i % runtimes.length] as string, askId);
      await waitFor(() => claimedAt.has(askId), 'a claim');
      single.push((claimedAt.get(askId) as number) - at);
    }
    await waitFor(() => acked >= SINGLES * perAsk, 'the idle Asks to finish');

    // Cloud CPU time over the bursts: a figure that, unlike wall time, another load on the machine barely moves.
    const cpuAt = async (): Promise<number[]> => {
      const used: number[] = [];
      for (const c of clouds) {
        c.send({ op: 'cpu' });
        used.push(Number(await c.next('cpu')));
      }
      return used;
    };
    const cpuBefore = await cpuAt();
    acked = 0;
    counting = true;
    const latencies: number[] = [];
    const wallStart = performance.now();
    for (let round = 0; round < ROUNDS; round++) {
      const submitted = new Map<string, number>();
      for (const [i, runtimeId] of runtimes.entries()) {
        const askId = `ask-r${round}-${i}`;
        submitted.set(askId, open(runtimeId, askId));
      }
      await waitFor(() => [...submitted.keys()].every((a) => claimedAt.has(a)), 'the burst claims');
      for (const [askId, at] of submitted) latencies.push((claimedAt.get(askId) as number) - at);
    }
    const expected = args.runtimes * ROUNDS * perAsk;
    await waitFor(() => acked >= expected, `${expected} receipts`);
    const wallMs = performance.now() - wallStart;
    const cloudCpuMs = (await cpuAt()).reduce((sum, ms, i) => sum + ms - (cpuBefore[i] as number), 0);

    const stats: Array<{ evidence: number; distinctEvidence: number; claimedTwice: number; claimedAsks: number; rss: number; peakRss: number }> = [];
    for (const c of clouds) {
      c.send({ op: 'stats' });
      stats.push(JSON.parse(await c.next('stats')));
    }
    workerDied = undefined;
    for (const child of workers) child.removeAllListeners('exit');
    const db = stats[0] as (typeof stats)[number];
    const totalAsks = SINGLES + args.runtimes * ROUNDS;
    const expectedRecords = totalAsks * perAsk;

    latencies.sort((a, b) => a - b);
    single.sort((a, b) => a - b);
    const pick = (list: number[], p: number): number => list[Math.min(list.length - 1, Math.ceil((p / 100) * list.length) - 1)] as number;
    const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`;
    const lines = [
      `connections bench: ${args.runtimes} runtimes in ${WORKERS} worker processes, ${args.clouds} Cloud process${args.clouds > 1 ? 'es' : ''} on ${args.store === 'pglite' ? 'embedded PGlite' : 'Postgres 15 (Debian, fsync on)'}, loopback`,
      `  enrollment          ${args.runtimes} runtimes enrolled and polling in ${(enrollMs / 1000).toFixed(2)} s`,
      `  dispatch latency    ${single.length} Asks one at a time on an idle Cloud, submitted -> claimed: p50 ${pick(single, 50).toFixed(1)} ms, p99 ${pick(single, 99).toFixed(1)} ms`,
      `  dispatch latency    ${latencies.length} Asks (${ROUNDS} bursts of ${args.runtimes}), submitted -> claimed: p50 ${pick(latencies, 50).toFixed(1)} ms, p99 ${pick(latencies, 99).toFixed(1)} ms, max ${(latencies[latencies.length - 1] ?? 0).toFixed(1)} ms`,
      `  receipts            during the bursts: ${acked} signed records acknowledged in ${((lastAckAt - firstAckAt) / 1000).toFixed(2)} s = ${Math.round(acked / ((lastAckAt - firstAckAt) / 1000))} /s with ${args.clouds} Cloud${args.clouds > 1 ? 's' : ''} (each verified, deduplicated, committed)`,
      `  wall time           ${(wallMs / 1000).toFixed(2)} s for all bursts`,
      `  Cloud CPU           ${(cloudCpuMs / 1000).toFixed(2)} s over the bursts = ${((cloudCpuMs * 1000) / acked).toFixed(0)} µs per receipt (all Cloud processes; ${Math.round((acked * 1000) / cloudCpuMs)} receipts per Cloud CPU-second)`,
      ...stats.map((s, i) => `  Cloud ${i + 1} memory      rss ${mb(s.rss)} (peak ${mb(s.peakRss)})`),
      `  from the database   ${db.claimedAsks} of ${totalAsks} Asks claimed; claimed more than once: ${db.claimedTwice}; records expected ${expectedRecords}, stored ${db.distinctEvidence}, lost ${Math.max(0, expectedRecords - db.distinctEvidence)}, duplicated ${db.evidence - db.distinctEvidence}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    for (const c of clouds) c.send({ op: 'stop' });
    await Promise.all(clouds.map((c) => new Promise((r) => (c.child.exitCode !== null ? r(undefined) : c.child.once('exit', r)))));
  } finally {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await pg?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--cloud') {
  const [dataDir, databaseUrl] = process.argv.slice(3) as [string, string];
  process.on('SIGTERM', () => process.exit(0));
  runCloudProcess(dataDir, databaseUrl === '' ? undefined : databaseUrl).catch((error: unknown) => {
    process.stderr.write(`bench cloud: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(3);
  });
} else {
  // One line and a non-zero exit on failure, never a stack trace.
  await runBench().catch((error: unknown) => {
    process.stderr.write(`bench:connections failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
