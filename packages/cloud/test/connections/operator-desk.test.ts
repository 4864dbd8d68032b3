// `cloud serve`'s desk must never take its own outcome files for new Asks: each
// poll used to rename `<id>.result.json` and answer it with ASK_INVALID into
// `<id>.result.result.json`, over and over, and the documented result was gone.
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CloudError, openOperatorDesk, readAskOutcome, submitAsk } from '@lumenflow/cloud';
import type { Cloud } from '@lumenflow/cloud';
import { createKey, createManualClock, createTempDir, createAsk } from './helpers.js';

function fakeCloud(): Cloud {
  return {
    waitForRuntime: async () => undefined,
    run: async (request: { runId: string }) => ({ dir: join('/tmp', request.runId), ending: 'completed', approvalStatus: 'not_requested' }),
  } as unknown as Cloud;
}

async function settle(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

describe('the operator desk', () => {
  it('leaves result files alone: one result per Ask, still there after many polls', async () => {
    const dataDir = await createTempDir('desk');
    await mkdir(join(dataDir, 'asks'), { recursive: true });
    await writeFile(join(dataDir, 'asks', 'ask-bad.json'), '{"not":"an ask"}\n');
    expect(await submitAsk(dataDir, createAsk('ask-good'))).toBe(true);
    const ids = { next: (p: string) => `${p}-1` };
    const desk = openOperatorDesk({ dataDir, cloud: fakeCloud(), signingKey: createKey(), clock: createManualClock(), ids, replayBaseUrl: 'http://127.0.0.1:1', pollMs: 10 });
    try {
      await settle(400);
    } finally {
      await desk.close();
    }
    expect((await readdir(join(dataDir, 'asks'))).sort()).toEqual(['ask-bad.result.json', 'ask-bad.taken', 'ask-good.result.json', 'ask-good.taken']);
    expect(await readAskOutcome(dataDir, 'ask-bad')).toMatchObject({ ok: false, code: 'ASK_INVALID' });
    expect(await readAskOutcome(dataDir, 'ask-good')).toMatchObject({ ok: true, ending: 'completed' });
  });

  it("refuses an Ask id that would name another Ask's result file", async () => {
    const dataDir = await createTempDir('desk');
    await expect(submitAsk(dataDir, createAsk('ask-x.result'))).rejects.toBeInstanceOf(CloudError);
  });
});
