// pnpm bench:verify — builds a bundle holding about 1 GiB of artifacts in a temp
// directory, then prints the verify time beside two floors: hashing the same
// files once with node:crypto, and sha256sum. Also the verifier's peak RSS.
// Targets: verify ≤ 1.15 × the node:crypto floor, peak RSS < 150 MB.
// Each measurement runs in a fresh child process so RSS and timing are its own.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { constants, rmSync } from 'node:fs';
import { mkdir, mkdtemp, open, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalize } from '@lumenflow/protocol';
import { REQUIRED_ARTIFACTS, buildManifest, generateSigningKeyPem, parseSigningKeyPem, sealManifest, verifyBundle } from '@lumenflow/verifier';

const MiB = 1024 * 1024;
// Where the bytes go: three large text-like artifacts, the rest realistic and small.
const LARGE: Record<string, number> = { 'file-diff.patch': 512 * MiB, 'pr-summary.md': 256 * MiB, 'test-results.json': 256 * MiB };
const JSONL_LINES = 1000;
const ROUNDS = 3;

if (process.argv[2] === '--child') {
  await runChild(process.argv[3] ?? '', process.argv[4] ?? '');
} else {
  await runBench();
}

async function runChild(kind: string, dir: string): Promise<void> {
  const files = REQUIRED_ARTIFACTS.map((name) => join(dir, name));
  const start = process.hrtime.bigint();
  let detail = '';
  if (kind === 'verify') {
    const report = await verifyBundle(dir);
    // The synthetic records carry no runtime receipts (a 512 MiB diff is past what runtime.receipts holds):
    // this bench measures the hashing pass; receipt checks cost one strict Ed25519 verify per runtime record.
    const failed = report.checks.filter((c) => !c.ok && c.name !== 'runtime.receipts');
    if (failed.length > 0) throw new Error(`bench bundle failed verification: ${JSON.stringify(failed)}`);
    detail = 'valid';
  } else if (kind === 'floor-pipelined') {
    // The same one pass with the read-ahead the verifier uses: the strictest floor.
    const halves = [Buffer.allocUnsafe(MiB), Buffer.allocUnsafe(MiB)] as const;
    for (const path of files) {
      const handle = await open(path, constants.O_RDONLY);
      const hash = createHash('sha256');
      let turn: 0 | 1 = 0;
      let pending = handle.read(halves[0], 0, MiB, null);
      for (;;) {
        const { bytesRead } = await pending;
        if (bytesRead === 0) break;
        const filled = halves[turn];
        turn = turn === 0 ? 1 : 0;
        pending = handle.read(halves[turn], 0, MiB, null);
        hash.update(filled.subarray(0, bytesRead));
      }
      await handle.close();
      detail += hash.digest('hex').slice(0, 4);
    }
  } else {
    // The floor: each file read once and hashed once, with nothing else.
    const buffer = Buffer.allocUnsafe(MiB);
    for (const path of files) {
      const handle = await open(path, constants.O_RDONLY);
      const hash = createHash('sha256');
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
        if (bytesRead === 0) break;
        hash.update(buffer.subarray(0, bytesRead));
      }
      await handle.close();
      detail += hash.digest('hex').slice(0, 4);
    }
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  process.stdout.write(`${JSON.stringify({ ms, maxRssMb: process.resourceUsage().maxRSS / 1024, detail })}\n`);
}

function child(kind: 'verify' | 'floor' | 'floor-pipelined', dir: string): { ms: number; maxRssMb: number } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, '--child', kind, dir], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${kind} child failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim()) as { ms: number; maxRssMb: number };
}

function sha256sum(dir: string): number | undefined {
  const start = process.hrtime.bigint();
  const result = spawnSync('sha256sum', REQUIRED_ARTIFACTS, { cwd: dir, stdio: 'ignore' });
  if (result.status !== 0) return undefined;
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function runBench(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'lumenflow-bench-verify-'));
  const cleanup = (): void => rmSync(root, { recursive: true, force: true });
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    const dir = join(root, 'bench-run');
    const totalBytes = await buildBundle(dir);
    process.stdout.write(`bundle: ${(totalBytes / MiB).toFixed(0)} MiB of artifacts in ${dir}\n`);
    sha256sum(dir); // warm the page cache so every measurement reads from memory alike

    const verify: number[] = [];
    const floor: number[] = [];
    const piped: number[] = [];
    const sums: number[] = [];
    let rss = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const f = child('floor', dir);
      const v = child('verify', dir);
      const p = child('floor-pipelined', dir);
      const s = sha256sum(dir);
      floor.push(f.ms);
      piped.push(p.ms);
      verify.push(v.ms);
      if (s !== undefined) sums.push(s);
      rss = Math.max(rss, v.maxRssMb);
    }
    const best = (xs: number[]): number => Math.min(...xs);
    const ratio = best(verify) / best(floor);
    const lines = [
      `verify (verifyBundle)        ${best(verify).toFixed(0).padStart(7)} ms   (runs: ${verify.map((x) => x.toFixed(0)).join(', ')})`,
      `floor (node:crypto, 1 pass)  ${best(floor).toFixed(0).padStart(7)} ms   (runs: ${floor.map((x) => x.toFixed(0)).join(', ')})`,
      `floor, pipelined reads       ${best(piped).toFixed(0).padStart(7)} ms   (runs: ${piped.map((x) => x.toFixed(0)).join(', ')}; ratio ${(best(verify) / best(piped)).toFixed(3)})`,
      `sha256sum                    ${sums.length ? best(sums).toFixed(0).padStart(7) : '    n/a'} ms`,
      `ratio verify/floor           ${ratio.toFixed(3).padStart(7)}      target ≤ 1.15  ${ratio <= 1.15 ? 'ok' : 'MISSED'}`,
      `peak RSS (verify process)    ${rss.toFixed(1).padStart(7)} MB   target < 150   ${rss < 150 ? 'ok' : 'MISSED'}`,
      `throughput                   ${((totalBytes / MiB) / (best(verify) / 1000)).toFixed(0).padStart(7)} MiB/s`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    cleanup();
  }
}

/** Writes a signed bundle with streamed large artifacts; returns the artifact bytes written. */
async function buildBundle(dir: string): Promise<number> {
  await mkdir(dir, { recursive: true });
  const key = parseSigningKeyPem(generateSigningKeyPem());
  const artifacts: Array<{ path: string; sha256: string; size: number }> = [];
  const small = smallArtifacts();
  const block = randomBytes(MiB);
  let total = 0;
  for (const name of REQUIRED_ARTIFACTS) {
    const hash = createHash('sha256');
    let size: number;
    const handle = await open(join(dir, name), 'wx');
    const large = LARGE[name];
    if (large !== undefined) {
      for (let written = 0; written < large; written += block.length) {
        await handle.write(block);
        hash.update(block);
      }
      size = large;
    } else {
      const bytes = Buffer.from(small[name] ?? '');
      await handle.write(bytes);
      hash.update(bytes);
      size = bytes.length;
    }
    await handle.close();
    total += size;
    artifacts.push({ path: name, sha256: hash.digest('hex'), size });
  }
  const manifest = buildManifest({ runId: 'bench-run', mode: 'happy', createdAt: '2026-11-23T10:00:00.000Z', keyId: key.keyId, artifacts });
  for (const [name, bytes] of Object.entries(sealManifest(manifest, key))) await writeFile(join(dir, name), bytes);
  return total;
}

function smallArtifacts(): Record<string, string> {
  const at = '2026-11-23T10:00:00.000Z';
  const digest = `sha256:${'a'.repeat(64)}`;
  const decision = (i: number): string =>
    canonicalize({
      schemaVersion: 1, decisionId: `dec-${i}`, timestamp: at, runId: 'bench-run', askId: 'ask-1', evaluatedAt: 'runtime',
      scope: { kind: 'fs.write', target: `src/file-${i}.ts` }, effect: 'allow', matchedRuleIds: ['rules.allow-src'],
      decidingRuleId: 'rules.allow-src', reason: 'writes under src/ are allowed', policyDigest: digest, warnings: [],
    });
  const call = (i: number): string =>
    canonicalize({
      schemaVersion: 1, toolCallId: `call-${i}`, runId: 'bench-run', askId: 'ask-1', sessionId: 'session-1', tool: 'fs.write',
      scope: { kind: 'fs.write', target: `src/file-${i}.ts` }, inputSummary: 'write', inputHash: digest, decisionId: `dec-${i}`,
      startedAt: at, endedAt: at, status: 'succeeded', outputHash: digest,
    });
  const lines = (make: (i: number) => string): string => Array.from({ length: JSONL_LINES }, (_, i) => `${make(i)}\n`).join('');
  return {
    'ask.json': canonicalize({ schemaVersion: 1, askId: 'ask-1' }),
    'node-session.json': canonicalize({ schemaVersion: 1, sessionId: 'session-1' }),
    'policy-decisions.jsonl': lines(decision),
    'tool-calls.jsonl': lines(call),
    'approval.json': canonicalize({ schemaVersion: 1, status: 'not_requested' }),
    'replay-link.txt': 'http://127.0.0.1:4173/replay/bench-run\n',
  };
}
