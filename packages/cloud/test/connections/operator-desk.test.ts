// `cloud serve`'s desk takes Asks from the store: each submitted Ask is run
// once and gets one outcome, a malformed one is answered ASK_INVALID, and an
// outcome is never taken for a new Ask (the file inbox once did that, forever).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CloudError, createStoreOperatorApi, openCloudStore, openOperatorDesk } from '@lumenflow/cloud';
import { systemClock } from '@lumenflow/protocol';
import type { Cloud } from '@lumenflow/cloud';
import { createKey, createManualClock, createTempDir, createAsk } from './helpers.js';

function fakeCloud(runs: string[]): Cloud {
  return {
    waitForRuntime: async () => undefined,
    run: async (request: { runId: string; ask: { askId: string } }) => {
      runs.push(request.ask.askId);
      return { dir: join('/tmp', request.runId), ending: 'completed', approvalStatus: 'not_requested' };
    },
  } as unknown as Cloud;
}

async function until(probe: () => Promise<boolean>, limitMs = 20_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the operator desk', () => {
  it('runs each Ask once, answers a malformed one ASK_INVALID, and never takes an outcome for an Ask', async () => {
    const dataDir = await createTempDir('desk');
    const store = await openCloudStore({ dataDir });
    const clock = createManualClock();
    const api = createStoreOperatorApi(store, { clock, owned: false });
    const runs: string[] = [];
    try {
      await store.submitAsk('ask-bad', '{"not":"an ask"}', 0);
      expect(await api.submitAsk(createAsk('ask-good'))).toBe(true);
      expect(await api.submitAsk(createAsk('ask-good'))).toBe(false);
      let n = 0;
      const ids = { next: (p: string) => `${p}-${++n}` };
      const desk = await openOperatorDesk({ store, instanceId: 'cloud-test', outDir: join(dataDir, 'bundles'), cloud: fakeCloud(runs), signingKey: createKey(), clock, ids, replayBaseUrl: 'http://127.0.0.1:1', tickMs: 10 });
      try {
        await until(async () => (await api.readAskOutcome('ask-good')) !== undefined && (await api.readAskOutcome('ask-bad')) !== undefined);
        // Many more ticks: nothing else is taken or run.
        await new Promise((r) => setTimeout(r, 300));
      } finally {
        await desk.close();
      }
      expect(runs).toEqual(['ask-good']);
      expect(await api.readAskOutcome('ask-bad')).toMatchObject({ ok: false, code: 'ASK_INVALID' });
      expect(await api.readAskOutcome('ask-good')).toMatchObject({ ok: true, ending: 'completed' });
      expect(await store.db.query('SELECT ask_id, state, runs FROM asks ORDER BY ask_id')).toEqual([
        { ask_id: 'ask-bad', state: 'done', runs: 1 },
        { ask_id: 'ask-good', state: 'done', runs: 1 },
      ]);
    } finally {
      await store.close();
    }
  });

  it('stops a run whose Ask another Cloud took over while this one was paused; the stale run records nothing', async () => {
    const dataDir = await createTempDir('desk');
    const store = await openCloudStore({ dataDir });
    const api = createStoreOperatorApi(store, { clock: systemClock, owned: false });
    const events: string[] = [];
    let started = 0;
    let stopped = 0;
    // A run that lasts until it is stopped (it stands for one still waiting on its runtime).
    const cloud = {
      waitForRuntime: async () => undefined,
      run: (request: { signal: AbortSignal }) =>
        new Promise((_, reject) => {
          started += 1;
          request.signal.addEventListener('abort', () => {
            stopped += 1;
            reject(new CloudError('ABORTED', 'stopped'));
          });
        }),
    } as unknown as Cloud;
    try {
      expect(await api.submitAsk(createAsk('ask-p'))).toBe(true);
      let n = 0;
      const ids = { next: (p: string) => `${p}-${++n}` };
      const desk = await openOperatorDesk({
        store, instanceId: 'cloud-a', outDir: join(dataDir, 'bundles'), cloud, signingKey: createKey(), clock: systemClock, ids,
        replayBaseUrl: 'http://127.0.0.1:1', tickMs: 20, askLeaseMs: 1_000, log: (event) => events.push(event),
      });
      try {
        await until(async () => started > 0);
        // cloud-a's lease lapsed while it was paused (seen from cloud-b's clock): cloud-b takes the Ask over.
        expect(await store.takeAsk('cloud-b', Date.now() + 10_000, 60_000)).toMatchObject({ askId: 'ask-p' });
        // cloud-a's next renewal no longer returns the Ask: its run is stopped, and releases or records nothing.
        await until(async () => stopped === started && events.includes('desk.ask-lost'));
      } finally {
        await desk.close();
      }
      expect(await store.readAsk('ask-p')).toMatchObject({ state: 'running', owner: 'cloud-b', outcome: null });
      expect(events).not.toContain('desk.ask-released');
      expect(events).not.toContain('desk.ask-done');
    } finally {
      await store.close();
    }
  });

  it('refuses an Ask that does not match AskSchema at submission', async () => {
    const dataDir = await createTempDir('desk');
    const store = await openCloudStore({ dataDir });
    try {
      const api = createStoreOperatorApi(store, { clock: createManualClock(), owned: false });
      await expect(api.submitAsk({ ...createAsk('ask-x'), schemaVersion: 2 } as never)).rejects.toBeInstanceOf(CloudError);
    } finally {
      await store.close();
    }
  });
});
