// pnpm bench:connections — 200 connected runtimes on this machine, over loopback.
// Cloud (openConnectionsServer) runs in this process so its memory is this
// process's; the runtimes run in two worker processes of 100 each, each with its
// own Ed25519 key, signing every request and every evidence record.
// Prints: dispatch latency p50/p99 (Ask submitted -> claim received, both seen
// by Cloud), evidence receipts ingested per second, and Cloud's memory.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createEnrollToken, openConnectionsServer } from '@lumenflow/cloud';
import { WorkResponseSchema, canonicalizeToBytes, systemClock } from '@lumenflow/protocol';
import type { Ask, PolicyDecisionRecord, RuntimeToCloudMessage, UnsignedRuntimeMessage } from '@lumenflow/protocol';
import { checkDispatch, createConnectionsClient, postEnrollment } from '@lumenflow/runtime';
import { generateSigningKeyPem, parsePublicKeyPem, parseSigningKeyPem } from '@lumenflow/verifier';
import type { SigningKey } from '@lumenflow/verifier';

const RUNTIMES = 200;
const WORKERS = 2;
const ROUNDS = 3;
const SINGLES = 100;
const RECORDS_PER_ASK = 20;
const BATCH = 10;
const DEADLINE_MS = 180_000;

const HOST = { os: 'linux', arch: 'x64', nodeVersion: process.version, hostnameHash: `sha256:${'0'.repeat(64)}` };

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

async function runCloud(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'lf-bench-cloud-'));
  const claimedAt = new Map<string, number>();
  let received = 0;
  let firstRecordAt = 0;
  let lastRecordAt = 0;
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
  const server = await openConnectionsServer({
    dataDir,
    signingKey: parseSigningKeyPem(generateSigningKeyPem()),
    clock: systemClock,
    leaseMs: 60_000,
    heartbeatIntervalMs: 30_000,
    log: (event, fields) => {
      if (event === 'work.claimed') claimedAt.set(String(fields['askId']), performance.now());
    },
  });
  server.onRecord(() => {
    const now = performance.now();
    if (received === 0) firstRecordAt = now;
    lastRecordAt = now;
    received++;
  });
  const { url } = await server.listen(0);
  const tokens: string[] = [];
  for (let i = 0; i < RUNTIMES; i++) tokens.push((await createEnrollToken({ dataDir, clock: systemClock })).token);
  const tokenFile = join(dataDir, 'bench-tokens.json');
  await writeFile(tokenFile, JSON.stringify(tokens), { mode: 0o600 });

  const per = RUNTIMES / WORKERS;
  const workers = Array.from({ length: WORKERS }, (_, w) =>
    spawn(process.execPath, ['--import', 'tsx', import.meta.filename, '--worker', url, tokenFile, String(w * per), String(per)], { stdio: ['ignore', 'pipe', 'inherit'] }),
  );
  // A worker that dies ends the bench now, with its reason, rather than at the deadline.
  let workerDied: Error | undefined;
  for (const child of workers) child.once('exit', (code) => (workerDied ??= new Error(`a runtime worker exited with code ${code}`)));
  const ready = workers.map(
    (child) =>
      new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('ready')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`a runtime worker exited with code ${code} while enrolling`)));
      }),
  );
  const enrollStart = performance.now();
  await Promise.all(ready);
  const enrollMs = performance.now() - enrollStart;
  const runtimes = server.listRuntimes().map((r) => r.runtimeId).sort();
  if (runtimes.length !== RUNTIMES) throw new Error(`expected ${RUNTIMES} runtimes, got ${runtimes.length}`);
  const memAfterEnroll = process.memoryUsage();

  const deadline = performance.now() + DEADLINE_MS;
  const open = (runtimeId: string, askId: string) =>
    server.dispatch(runtimeId, {
      type: 'session.open',
      messageId: `cmsg-${askId}`,
      runId: `run-${askId}`,
      sessionId: `ses-${askId}`,
      runtimeId,
      ask: ask(askId),
      cloudRules: { fileName: 'bench.yaml', document: { version: 1, rules: [] } },
    });
  const waitClaims = async (askIds: Iterable<string>): Promise<void> => {
    const ids = [...askIds];
    while (ids.some((a) => !claimedAt.has(a))) {
      if (workerDied !== undefined) throw workerDied;
      if (performance.now() > deadline) throw new Error('bench deadline passed waiting for claims');
      await new Promise((r) => setTimeout(r, 1));
    }
  };

  // One Ask at a time: dispatch latency with nothing else in flight.
  const single: number[] = [];
  for (let i = 0; i < SINGLES; i++) {
    // Wait out the previous Ask's evidence, so this one meets an idle Cloud.
    while (received < i * (RECORDS_PER_ASK + 2)) {
      if (workerDied !== undefined) throw workerDied;
      await new Promise((r) => setTimeout(r, 1));
    }
    const askId = `ask-single-${i}`;
    const at = performance.now();
    await open(runtimes[i % runtimes.length] as string, askId);
    await waitClaims([askId]);
    single.push((claimedAt.get(askId) as number) - at);
  }
  while (received < SINGLES * (RECORDS_PER_ASK + 2)) {
    if (workerDied !== undefined) throw workerDied;
    await new Promise((r) => setTimeout(r, 5));
  }
  received = 0;

  const latencies: number[] = [];
  const ingestStart = performance.now();
  for (let round = 0; round < ROUNDS; round++) {
    const submitted = new Map<string, number>();
    await Promise.all(
      runtimes.map(async (runtimeId, i) => {
        const askId = `ask-r${round}-${i}`;
        submitted.set(askId, performance.now());
        await open(runtimeId, askId);
      }),
    );
    await waitClaims(submitted.keys());
    for (const [askId, at] of submitted) latencies.push((claimedAt.get(askId) as number) - at);
  }
  const expected = RUNTIMES * ROUNDS * (RECORDS_PER_ASK + 2);
  while (received < expected) {
    if (workerDied !== undefined) throw workerDied;
    if (performance.now() > deadline) throw new Error(`bench deadline passed at ${received}/${expected} records`);
    await new Promise((r) => setTimeout(r, 10));
  }
  const ingestWallMs = performance.now() - ingestStart;
  const mem = process.memoryUsage();
  clearInterval(sampler);
  workerDied = undefined;
  for (const child of workers) child.removeAllListeners('exit');
  await Promise.all(
    workers.map((child) => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      return exited;
    }),
  );
  await server.close();
  await rm(dataDir, { recursive: true, force: true });

  latencies.sort((a, b) => a - b);
  single.sort((a, b) => a - b);
  const pick = (list: number[], p: number): number => list[Math.min(list.length - 1, Math.ceil((p / 100) * list.length) - 1)] as number;
  const pct = (p: number): number => pick(latencies, p);
  const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  const lines = [
    `connections bench: ${RUNTIMES} runtimes in ${WORKERS} worker processes, loopback, Cloud in this process (state fsynced to ${tmpdir()})`,
    `  enrollment          ${RUNTIMES} runtimes enrolled and polling in ${(enrollMs / 1000).toFixed(2)} s`,
    `  dispatch latency    ${single.length} Asks one at a time on an idle Cloud, submitted -> claimed: p50 ${pick(single, 50).toFixed(1)} ms, p99 ${pick(single, 99).toFixed(1)} ms`,
    `  dispatch latency    ${latencies.length} Asks (${ROUNDS} bursts of ${RUNTIMES}), submitted -> claimed: p50 ${pct(50).toFixed(1)} ms, p99 ${pct(99).toFixed(1)} ms, max ${(latencies[latencies.length - 1] ?? 0).toFixed(1)} ms`,
    `  receipts ingested   during the bursts: ${received} signed records in ${((lastRecordAt - firstRecordAt) / 1000).toFixed(2)} s = ${Math.round(received / ((lastRecordAt - firstRecordAt) / 1000))} /s (each verified, deduped, written with fsync)`,
    `  wall time           ${(ingestWallMs / 1000).toFixed(2)} s for all rounds`,
    `  Cloud memory        rss ${mb(mem.rss)} (peak ${mb(peakRss)}), heap used ${mb(mem.heapUsed)}; after enrollment rss ${mb(memAfterEnroll.rss)}, heap ${mb(memAfterEnroll.heapUsed)}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

// ---- worker: RUNTIMES / WORKERS runtimes in one process ----

function sign(message: UnsignedRuntimeMessage, key: SigningKey): RuntimeToCloudMessage {
  return { ...message, signature: { keyId: key.keyId, value: Buffer.from(key.sign(canonicalizeToBytes(message))).toString('base64') } } as RuntimeToCloudMessage;
}

async function runRuntime(url: string, token: string, index: number, onReady: () => void): Promise<void> {
  const key = parseSigningKeyPem(generateSigningKeyPem());
  const enrolled = await postEnrollment(url, { token, publicKeyPem: key.publicKeyPem, labels: ['bench'], version: '0.1.0', host: HOST });
  if (enrolled.status !== 201) throw new Error(`enroll ${index}: HTTP ${enrolled.status}`);
  const info = enrolled.body as { runtimeId: string; cloudPublicKeyPem: string; cloudKeyId: string };
  const client = createConnectionsClient({ baseUrl: url, runtimeId: info.runtimeId, signingKey: key, clock: systemClock });
  const cloudPublicKey = parsePublicKeyPem(info.cloudPublicKeyPem);
  onReady();
  let after = 0;
  let n = 0;
  for (;;) {
    const reply = await client.request('GET', `/v1/work?after=${after}&wait=25000`);
    const work = WorkResponseSchema.parse(reply.body);
    for (const item of work.items) {
      after = item.seq;
      const checked = checkDispatch(item, { runtimeId: info.runtimeId, cloudKeyId: info.cloudKeyId, cloudPublicKey });
      if (!checked.ok || checked.body.message.type !== 'session.open' || checked.body.claim === null) throw new Error(`dispatch refused: ${checked.ok ? 'type' : checked.code}`);
      const { message, claim } = checked.body;
      const claimed = await client.request('POST', '/v1/claims', { workId: item.workId, ...claim });
      if (claimed.status !== 201) throw new Error(`claim HTTP ${claimed.status}`);
      const { runId, sessionId } = message;
      const id = (): string => `rmsg-${index}-${++n}`;
      const records: RuntimeToCloudMessage[] = [sign({ type: 'session.accepted', messageId: id(), runId, sessionId, startedAt: new Date().toISOString(), sandbox: { kind: 'bubblewrap', version: '0.8.0', profileDigest: `sha256:${'b'.repeat(64)}` }, baselineCommit: '0'.repeat(40) }, key)];
      for (let r = 0; r < RECORDS_PER_ASK; r++) {
        const record: PolicyDecisionRecord = {
          schemaVersion: 1,
          decisionId: `dec-${index}-${n}-${r}`,
          timestamp: new Date().toISOString(),
          runId,
          askId: claim.askId,
          evaluatedAt: 'runtime',
          scope: { kind: 'fs.read', target: 'src/calc.js' },
          effect: 'allow',
          matchedRuleIds: ['bench.allow'],
          decidingRuleId: 'bench.allow',
          reason: 'bench',
          policyDigest: `sha256:${'1'.repeat(64)}`,
          warnings: [],
        };
        records.push(sign({ type: 'evidence.policy-decision', messageId: id(), runId, sessionId, record }, key));
      }
      records.push(sign({ type: 'session.ended', messageId: id(), runId, sessionId, outcome: 'completed', reason: 'bench', workspaceUnchanged: true, endedAt: new Date().toISOString() }, key));
      for (let i = 0; i < records.length; i += BATCH) {
        const batch = records.slice(i, i + BATCH).map((m) => ({ kind: 'runtime-message' as const, recordId: m.messageId, message: m }));
        const ack = await client.request('POST', '/v1/evidence', { records: batch });
        if (ack.status !== 200) throw new Error(`evidence HTTP ${ack.status}`);
      }
    }
  }
}

async function runWorker(url: string, tokenFile: string, from: number, count: number): Promise<void> {
  const tokens = (JSON.parse(await readFile(tokenFile, 'utf8')) as string[]).slice(from, from + count);
  let ready = 0;
  const all = tokens.map((token, i) =>
    runRuntime(url, token, from + i, () => {
      if (++ready === tokens.length) process.stdout.write('ready\n');
    }),
  );
  await Promise.all(all);
}

if (process.argv[2] === '--worker') {
  const [url, tokenFile, from, count] = process.argv.slice(3) as [string, string, string, string];
  process.on('SIGTERM', () => process.exit(0));
  runWorker(url, tokenFile, Number(from), Number(count)).catch((error: unknown) => {
    process.stderr.write(`bench worker: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(3);
  });
} else {
  // One line and a non-zero exit on failure, never a stack trace.
  await runCloud().catch((error: unknown) => {
    process.stderr.write(`bench:connections failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
