// The runtime may be handed a sandbox that is still being made (the demo CLI
// starts the chain while the host probe runs): the session's workspace is
// prepared meanwhile, and a sandbox that fails is the session's reason.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { RuntimeError, createBubblewrapSandbox } from '@lumenflow/runtime';
import type { Sandbox } from '@lumenflow/runtime';
import { verifyBundle } from '@lumenflow/verifier';
import { runChain } from '../scripts/demo/commands/chain.js';
import { demoChainInputs } from './support/demo-chain.js';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lumenflow-sandbox-promise-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('a sandbox still being made', () => {
  test('made after the session opens: the run goes on in it and the bundle verifies', async () => {
    const late = new Promise<Sandbox>((resolve, reject) => {
      setTimeout(() => createBubblewrapSandbox().then(resolve, reject), 200);
    });
    const result = await runChain(await demoChainInputs({ runId: 'sandbox-late', outDir: join(work, 'out') }, { sandbox: late }));
    expect(result.ending).toBe('approved');
    const session = JSON.parse(await readFile(join(result.dir, 'node-session.json'), 'utf8')) as { runtime: { sandbox: { kind: string } } };
    expect(session.runtime.sandbox.kind).toBe('bubblewrap');
    expect((await verifyBundle(result.dir)).valid).toBe(true);
  }, 60_000);

  test('that fails: the session ends with the sandbox code, nothing runs, and the bundle is a signed record of no work', async () => {
    const failing = new Promise<Sandbox>((_resolve, reject) => {
      setTimeout(() => reject(new RuntimeError('SANDBOX_UNAVAILABLE', 'no sandbox for tool processes: test')), 100);
    });
    const result = await runChain(await demoChainInputs({ runId: 'sandbox-failed', outDir: join(work, 'out') }, { sandbox: failing }));
    expect(result.code).toBe('SANDBOX_UNAVAILABLE');
    expect(result.toolCalls).toBe(0);
    expect(await readFile(join(result.dir, 'tool-calls.jsonl'), 'utf8')).toBe('');
    // A session that did no work is a signed record of that, which only the happy-mode rule rejects.
    const report = await verifyBundle(result.dir);
    expect(report.checks.find((c) => c.name === 'signature.valid')?.ok).toBe(true);
    expect(report.checks.filter((c) => !c.ok).map((c) => c.code)).toEqual(['MODE_RULE_VIOLATED']);
  }, 60_000);

  test('that fails while the workspace fails too: the sandbox is the reason given, as when it was made first', async () => {
    const failing = Promise.reject(new RuntimeError('SANDBOX_UNAVAILABLE', 'no sandbox for tool processes: test'));
    failing.catch(() => undefined);
    const inputs = await demoChainInputs({ runId: 'sandbox-and-fixture', outDir: join(work, 'out') }, { sandbox: failing, fixtureDir: join(work, 'no-such-fixture') });
    const result = await runChain(inputs);
    expect(result.code).toBe('SANDBOX_UNAVAILABLE');
  }, 60_000);
});
