// The canary suite over Connections: Cloud in this process serves loopback
// HTTP, the runtime is `lumenflow runtime connect` in a child process with the
// canaries in its environment, and the scripted agent works on a repository
// whose `.env` and test suite hold them. Every byte produced (the bundle,
// Cloud's data directory, the runtime's state directory and outbox, Cloud's
// log, the runtime's stdout and stderr at debug level) is searched for every
// canary in every encoding.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createCloud, createEnrollToken, createHttpCloudEndpoint, openConnectionsServer } from '@lumenflow/cloud';
import { loadRulesFile } from '@lumenflow/policy';
import { createSequentialIds, systemClock } from '@lumenflow/protocol';
import type { Ask } from '@lumenflow/protocol';
import { generateSigningKeyPem, parseSigningKeyPem } from '@lumenflow/verifier';
import { verifyBundle } from '@lumenflow/verifier';
import { CANARY, hits, leakTestSource, readTree } from './canaries.js';

const ROOT = resolve(import.meta.dirname, '../..');
let work: string;
let child: ChildProcess | undefined;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lumenflow-canary-http-'));
  const repo = join(work, 'calc');
  await cp(join(ROOT, 'scripts/demo/fixtures/calc'), repo, { recursive: true });
  // The scripted agent reads this file and the tests print it: the suite is the leak.
  const calcTests = await readFile(join(repo, 'test/calc.test.js'), 'utf8');
  await writeFile(join(repo, 'test/calc.test.js'), `${calcTests}\n${leakTestSource().replace("import { test } from 'node:test';\n", '')}`);
  await writeFile(join(repo, '.env'), `API_KEY=${CANARY.dotenv}\nPRIVATE_BLOCK="${CANARY.dotenvMulti.replace(/\n/g, '\\n')}"\n`);
  await writeFile(join(work, 'local.json'), JSON.stringify({ version: 1, rules: [], secretEnv: ['CANARY_SECRET_ENV', 'CANARY_MULTI_ENV'] }));
}, 60_000);
afterAll(async () => {
  if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
  await rm(work, { recursive: true, force: true });
});

describe('canary suite over Connections (HTTP, runtime in its own process)', () => {
  test('no canary in any encoding in the bundle, Cloud data dir, runtime state and outbox, or any log', async () => {
    const dataDir = join(work, 'cloud');
    const stateDir = join(work, 'runtime');
    const outDir = join(work, 'out');
    const cloudLog: string[] = [];
    const log = (event: string, fields: Record<string, unknown>): void => void cloudLog.push(JSON.stringify({ event, ...fields }));
    const signingKey = parseSigningKeyPem(generateSigningKeyPem());
    const server = await openConnectionsServer({ dataDir, signingKey, clock: systemClock, log });
    const endpoint = createHttpCloudEndpoint(server);
    let out = '';
    let err = '';
    try {
      const { url } = await server.listen(0);
      const cloud = createCloud({ endpoint, clock: systemClock, ids: createSequentialIds(), signingKey, rules: await loadRulesFile(join(ROOT, 'scripts/demo/rules/cloud-policy.yaml')), log });
      const { token } = await createEnrollToken({ dataDir, clock: systemClock, ttlMs: 60_000 });
      const args = ['--import', 'tsx', 'scripts/lumenflow.ts', 'runtime', 'connect', '--cloud', url, '--state-dir', stateDir, '--workspace', join(work, 'calc'), '--repository', 'lumenflow-demo/calc', '--local-policy', join(work, 'local.json'), '--log-level', 'debug'];
      child = spawn(process.execPath, args, {
        cwd: ROOT,
        env: { ...process.env, LUMENFLOW_ENROLL_TOKEN: token, CANARY_SECRET_ENV: CANARY.env, CANARY_MULTI_ENV: CANARY.envMulti, GITHUB_TOKEN: CANARY.providerToken },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString('latin1')));
      child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString('latin1')));
      const ask = JSON.parse(await readFile(join(ROOT, 'scripts/demo/asks/happy.json'), 'utf8')) as Ask;
      await cloud.waitForRuntime(ask.runtimeLabels, undefined, 60_000);
      const result = await cloud.run({
        runId: 'canary-http',
        ask,
        outDir,
        replayUrl: 'https://replay.example/canary-http',
        approver: async () => ({ approver: 'reviewer.test', decision: 'approved', reason: 'test' }),
        sessionTimeoutMs: 120_000,
      });
      // The scripted agent ran the suite: the tests failed on purpose, with the canaries in their output.
      expect(result.ending).toBe('tests-failed');
      expect(result.toolCalls).toBeGreaterThanOrEqual(4);
    } finally {
      if (child !== undefined && child.exitCode === null) {
        const exited = new Promise((r) => child?.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      endpoint.close();
      await server.close();
    }
    const bundle = join(outDir, 'canary-http');
    expect((await verifyBundle(bundle)).valid).toBe(true);
    const tests = JSON.parse(await readFile(join(bundle, 'test-results.json'), 'utf8')) as { redaction?: { kinds: string[] } };
    expect(tests.redaction?.kinds).toEqual(expect.arrayContaining(['env-secret', 'provider-token', 'secret-file', 'github-token']));
    expect(out + err).toContain('runtime.send');
    const outputs = new Map<string, string>([
      ['runtime stdout', out],
      ['runtime stderr', err],
      ['cloud log', cloudLog.join('\n')],
      ...(await readTree(outDir)),
      ...(await readTree(dataDir)),
      ...(await readTree(stateDir)),
    ]);
    expect([...outputs.keys()].some((k) => k.startsWith(stateDir))).toBe(true);
    expect(hits(outputs)).toEqual([]);
  }, 240_000);
});
