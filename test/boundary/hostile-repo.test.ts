import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { replayBundle } from '@lumenflow/replay';
import type { PolicyDecisionRecord, ToolCallRecord } from '@lumenflow/protocol';
import { openSandbox } from '@lumenflow/runtime';
import { generateSigningKeyPem, parseSigningKeyPem, verifyBundle } from '@lumenflow/verifier';
import { runChain, DEMO_PATHS } from '../../scripts/demo/commands/chain.js';
import type { RunResult } from '@lumenflow/cloud';
import { REPO_ROOT, demoChainInputs } from '../support/demo-chain.js';
import { writeHostileFixture } from './hostile-fixture.js';

// The demo chain, end to end, on a repository whose own tests attack the
// runtime: they must not read a key, leave the workspace, reach the network or
// change a file Rules deny, and the Proof must say what was blocked.

let work: string;
let server: Server;
let connections = 0;
let result: RunResult;
let patch: string;
let decisions: PolicyDecisionRecord[];
let calls: ToolCallRecord[];
let signerPem: string;
let runtimePem: string;
let outsideFile: string;

const lines = async <T>(dir: string, name: string): Promise<T[]> =>
  (await readFile(join(dir, name), 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as T);

/** The loot an attack wrote into the diff: the added lines of src/loot/<name>.txt. */
function loot(name: string): string {
  const start = patch.indexOf(`+++ b/src/loot/${name}.txt`);
  if (start === -1) throw new Error(`no loot file ${name} in the diff`);
  const end = patch.indexOf('diff --git', start);
  return patch
    .slice(start, end === -1 ? undefined : end)
    .split('\n')
    .filter((line) => line.startsWith('+') && !line.startsWith('+++'))
    .map((line) => line.slice(1))
    .join('\n');
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lumenflow-hostile-'));
  server = createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const keys = join(work, 'keys');
  await mkdir(keys);
  signerPem = generateSigningKeyPem();
  runtimePem = generateSigningKeyPem();
  await writeFile(join(keys, 'signer.pem'), signerPem, { mode: 0o600 });
  await writeFile(join(keys, 'runtime.pem'), runtimePem, { mode: 0o600 });
  const outDir = join(work, 'evidence');
  outsideFile = join(work, 'escaped.txt');
  const fixtureDir = join(work, 'repo');
  const demoKey = join(REPO_ROOT, '.lumenflow/keys/demo-signing-key.pem');
  await writeHostileFixture(fixtureDir, join(REPO_ROOT, DEMO_PATHS.fixture), {
    keyFiles: [join(keys, 'signer.pem'), join(keys, 'runtime.pem'), demoKey],
    outsideFile,
    port,
  });
  const sandbox = await openSandbox({ mode: 'bubblewrap', hide: [keys, outDir] });
  const inputs = await demoChainInputs(
    { runId: 'hostile-run', outDir },
    { fixtureDir, sandbox, signingKey: parseSigningKeyPem(signerPem), runtimeKey: parseSigningKeyPem(runtimePem) },
  );
  // The attacks report through files under src/: an Ask that requested writes there lets them reach the diff.
  result = await runChain({ ...inputs, ask: { ...inputs.ask, requestedScopes: [...inputs.ask.requestedScopes, { kind: 'fs.write', path: 'src/**' }] } });
  patch = await readFile(join(result.dir, 'file-diff.patch'), 'utf8');
  decisions = await lines(result.dir, 'policy-decisions.jsonl');
  calls = await lines(result.dir, 'tool-calls.jsonl');
}, 120_000);

afterAll(async () => {
  server?.close();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

const keyBody = (pem: string): string => pem.split('\n').filter((l) => l !== '' && !l.startsWith('-----'))[0] ?? pem;

describe('a hostile repository under the boundary', () => {
  test('the run still completes, and the attacks reported in (their loot is in the diff)', () => {
    expect(result.ending).toBe('approved');
    expect(patch).toContain('+++ b/src/loot/known-paths.txt');
  });

  test('no private key reaches the diff, by known path, /proc or the environment', () => {
    for (const pem of [signerPem, runtimePem]) expect(patch).not.toContain(keyBody(pem));
    expect(patch).not.toContain('PRIVATE KEY');
    const known = JSON.parse(loot('known-paths')) as Array<{ ok: boolean }>;
    expect(known.map((k) => k.ok)).toEqual([false, false, false]);
  });

  test('/proc shows only the sandbox: no runtime, vitest or node parent process is visible', () => {
    const proc = JSON.parse(loot('proc')) as { pids: { value: string }; chain: Array<{ pid: number; cmdline: { ok: boolean; value?: string } }> };
    const pids = proc.pids.value.split(' ').map(Number);
    expect(Math.max(...pids)).toBeLessThan(100);
    const seen = proc.chain.map((p) => p.cmdline.value ?? '').join('\n');
    expect(seen).not.toMatch(/vitest|tsx|lumenflow\.ts/);
  });

  test('the environment holds nothing of the runtime', () => {
    const env = JSON.parse(loot('env')) as Record<string, string>;
    expect(Object.keys(env).sort()).toEqual(expect.arrayContaining(['HOME', 'PATH']));
    for (const name of Object.keys(env)) expect(name).not.toMatch(/LUMENFLOW|VITEST|KEY|TOKEN/);
    expect(env['HOME']).toBe('/home/sandbox');
  });

  test('nothing is written outside the workspace, nor into .git', async () => {
    expect(existsSync(outsideFile)).toBe(false);
    const git = JSON.parse(loot('git')) as { hook: { ok: boolean }; config: { ok: boolean } };
    expect(git.hook.ok).toBe(false);
    expect(git.config.ok).toBe(false);
    expect(patch).not.toContain('.git/');
  });

  test('no connection reaches the host', () => {
    expect(connections).toBe(0);
    expect((JSON.parse(loot('network')) as { ok: boolean }).ok).toBe(false);
  });

  test('a write Rules deny is reverted and recorded as a deny tied to the test call', () => {
    const testCall = calls.find((c) => c.tool === 'run_tests');
    expect(testCall?.sandbox).toMatchObject({ kind: 'bubblewrap' });
    const attributed = decisions.filter((d) => d.attribution !== undefined);
    const manifest = attributed.find((d) => d.scope.target === 'package.json');
    expect(manifest).toMatchObject({ effect: 'deny', decidingRuleId: 'runtime.fs.manifest.deny-write', attribution: { toolCallId: testCall?.toolCallId, change: 'modified', reverted: true } });
    const docs = attributed.find((d) => d.scope.target === 'docs/notes.md');
    expect(docs).toMatchObject({ effect: 'deny', attribution: { change: 'added', reverted: true } });
    expect(patch).not.toContain('package.json');
    expect(patch).not.toContain('docs/notes.md');
  });

  test('a write Rules allow stays, attributed to the call that made it', () => {
    const extra = decisions.find((d) => d.scope.target === 'src/extra.js');
    expect(extra).toMatchObject({ effect: 'allow', attribution: { change: 'added', reverted: false } });
    expect(patch).toContain('+++ b/src/extra.js');
  });

  test('the bundle verifies and Replay finds the chain whole, with the blocked writes shown', async () => {
    expect((await verifyBundle(result.dir)).valid).toBe(true);
    const report = await replayBundle(result.dir);
    expect(report.chainChecks.filter((c) => !c.ok)).toEqual([]);
    expect(report.verdict).toBe('VALID');
    const blocked = report.timeline.filter((e) => e.status === 'deny' && e.what.includes('package.json'));
    expect(blocked.length).toBe(1);
  });
});
