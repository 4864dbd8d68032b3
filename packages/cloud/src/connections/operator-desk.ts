import { AskSchema, omitUndefined, parseStrictJson } from '@lumenflow/protocol';
import type { Ask, Clock, IdSource } from '@lumenflow/protocol';
import type { SigningKey } from '@lumenflow/verifier';
import { buildReplayUrl } from '@lumenflow/replay';
import { resolveApproval } from '../approvals.js';
import type { ApprovalAnswer, ApprovalRequest } from '../approvals.js';
import type { Cloud } from '../cloud.js';
import { CloudError } from '../errors.js';
import { CHANNELS } from '../store/cloud-store.js';
import type { AskRow, CloudStore } from '../store/cloud-store.js';
import { completePendingApproval, markApprovalSettled, readApprovalAnswer, savePendingApproval, toPendingApproval } from './approval-store.js';
import type { AskOutcome } from './operator-api.js';
import type { PullRequestConfig } from '../pull-request/perform.js';

// The operator's side of `cloud serve`, on the store: Asks submitted by `cloud
// ask` are taken from the asks table (SKIP LOCKED, under a lease this Cloud
// renews while it runs them), approvals wait in the approvals table for an
// answer. Both are woken by NOTIFY; a slow timer only catches expiries (an
// approval nobody answered, the lease of a Cloud that stopped).

export interface OperatorDeskOptions {
  store: CloudStore;
  /** This Cloud process: the owner of the Ask leases it takes. */
  instanceId: string;
  cloud: Cloud;
  /** Where bundles are written (`<data-dir>/bundles`). */
  outDir: string;
  /** How Cloud carries out an approved pull request (`cloud serve --pr …`); absent: none is. */
  pullRequest?: PullRequestConfig;
  /** The Proof signer: it finishes stored approvals after a restart. */
  signingKey: SigningKey;
  clock: Clock;
  ids: IdSource;
  replayBaseUrl: string;
  approvalTtlMs?: number;
  /** How long an Ask waits for a runtime with its labels. */
  runtimeWaitMs?: number;
  /** Lease on a taken Ask; renewed every third of it while the run lives (default 10 s). */
  askLeaseMs?: number;
  /** Asks run at once by this Cloud (default 4). */
  concurrency?: number;
  /** The expiry check (default 1 s). */
  tickMs?: number;
  log?: (event: string, fields: Record<string, unknown>) => void;
}

export interface OperatorDesk {
  /** Stops taking Asks; a run in flight is aborted and its Ask released to another Cloud (or paused at its approval gate). */
  close(): Promise<void>;
}

/** Starts running submitted Asks and settling stored approvals. */
export async function openOperatorDesk(opts: OperatorDeskOptions): Promise<OperatorDesk> {
  const { store } = opts;
  const log = opts.log ?? (() => undefined);
  const askLeaseMs = opts.askLeaseMs ?? 10_000;
  const concurrency = opts.concurrency ?? 4;
  const nowMs = (): number => opts.clock.now().getTime();
  // Approvals a live run of this Cloud waits on: the settle pass hands them their answer.
  const live = new Map<string, (answer: ApprovalAnswer) => void>();
  const controller = new AbortController();
  const running = new Set<Promise<void>>();
  // Each run's own stop: the desk closing, or its Ask taken over by another Cloud (this one was paused past its lease).
  const runs = new Map<string, AbortController>();
  let taking = false;
  let settling = false;

  if (store.kind === 'pglite') await store.lapseAskLeases();

  const runAsk = async (row: AskRow, stop: AbortController): Promise<void> => {
    const runId = opts.ids.next('run');
    const signal = AbortSignal.any([controller.signal, stop.signal]);
    // This take of the Ask: every write of the run is conditioned on it.
    const hold = { owner: opts.instanceId, runs: row.runs };
    let ask: Ask;
    try {
      ask = AskSchema.parse(parseStrictJson(row.ask));
    } catch {
      await store.finishAsk(row.askId, hold, JSON.stringify({ askId: row.askId, ok: false, runId: '', code: 'ASK_INVALID', message: 'the submitted Ask does not match AskSchema' }), nowMs());
      return;
    }
    let approvalId: string | undefined;
    let outcome: AskOutcome;
    try {
      await opts.cloud.waitForRuntime(ask.runtimeLabels, signal, opts.runtimeWaitMs ?? 60_000);
      const result = await opts.cloud.run({
        runId,
        ask,
        outDir: opts.outDir,
        replayUrl: buildReplayUrl(opts.replayBaseUrl, runId),
        signal,
        ...omitUndefined({ approvalTtlMs: opts.approvalTtlMs, pullRequest: opts.pullRequest }),
        onApprovalPending: async (pending) => {
          // Stored only while this Cloud still runs the Ask: one that was paused past its lease has lost it.
          if (!(await savePendingApproval(store, pending, { hold }))) {
            throw new CloudError('ASK_TAKEN_OVER', `another Cloud took over ${pending.askId}; this run stops at its approval gate`);
          }
          approvalId = pending.request.approvalId;
          log('desk.approval-pending', { approvalId, runId, expiresAt: pending.request.expiresAt });
        },
        approver: (request) => waitForAnswer(request),
      });
      outcome = { askId: ask.askId, ok: true, runId, dir: result.dir, ending: result.ending, approvalStatus: result.approvalStatus };
      if (approvalId !== undefined && (result.approvalStatus === 'approved' || result.approvalStatus === 'rejected' || result.approvalStatus === 'expired')) {
        // The approval and the Ask's outcome in one transaction: an Ask paused meanwhile (its lease lapsed at the gate) is done too.
        if (await markApprovalSettled(store, approvalId, { status: result.approvalStatus, dir: result.dir }, nowMs(), { askId: ask.askId, json: JSON.stringify(outcome) })) {
          log('desk.ask-done', { askId: ask.askId, runId, ok: outcome.ok });
          return;
        }
      }
    } catch (error) {
      if (stop.signal.aborted && !controller.signal.aborted) {
        log('desk.ask-lost', { askId: ask.askId, runId, why: 'taken over by another Cloud' });
        return;
      }
      if (controller.signal.aborted) {
        // Stopped: at the approval gate the stored approval finishes the Ask; before it, another Cloud runs it again.
        await store.releaseAsk(ask.askId, hold, approvalId === undefined ? 'queued' : 'paused');
        log('desk.ask-released', { askId: ask.askId, runId, approvalId: approvalId ?? null });
        return;
      }
      const code = error instanceof CloudError || (error instanceof Error && typeof (error as { code?: unknown }).code === 'string') ? String((error as { code: string }).code) : 'INTERNAL';
      outcome = { askId: ask.askId, ok: false, runId, code, message: error instanceof Error ? error.message : String(error) };
    } finally {
      if (approvalId !== undefined) live.delete(approvalId);
    }
    const recorded = await store.finishAsk(ask.askId, hold, JSON.stringify(outcome), nowMs());
    log(recorded ? 'desk.ask-done' : 'desk.ask-lost', { askId: ask.askId, runId, ok: outcome.ok });
  };

  const waitForAnswer = (request: ApprovalRequest): Promise<ApprovalAnswer> =>
    new Promise((resolve) => {
      live.set(request.approvalId, resolve);
      void settle();
    });

  const take = async (): Promise<void> => {
    if (taking || controller.signal.aborted) return;
    taking = true;
    try {
      while (running.size < concurrency && !controller.signal.aborted) {
        const row = await store.takeAsk(opts.instanceId, nowMs(), askLeaseMs);
        if (row === undefined) break;
        // `ended`: the earlier run's dispatches, ended so that their runtime stops them and this run's is the next attempt.
        log('desk.ask-taken', { askId: row.askId, runs: row.runs, endedWork: row.ended.map((w) => w.workId) });
        // Taken again by this same Cloud (its own lease lapsed while it stalled): the earlier run lost it too.
        runs.get(row.askId)?.abort();
        const stop = new AbortController();
        runs.set(row.askId, stop);
        const run = runAsk(row, stop)
          .catch((error: unknown) => log('desk.error', { askId: row.askId, message: error instanceof Error ? error.message : String(error) }))
          .finally(() => {
            if (runs.get(row.askId) === stop) runs.delete(row.askId);
            running.delete(run);
            void take();
          });
        running.add(run);
      }
    } catch (error) {
      log('desk.error', { message: error instanceof Error ? error.message : String(error) });
    } finally {
      taking = false;
    }
  };

  const settle = async (): Promise<void> => {
    if (settling || controller.signal.aborted) return;
    settling = true;
    try {
      for (const row of await store.listPendingApprovals()) {
        const pending = toPendingApproval(row);
        if (pending === undefined) continue;
        const id = row.approvalId;
        const answer = readApprovalAnswer(row);
        const now = opts.clock.now();
        const waiting = live.get(id);
        if (waiting !== undefined) {
          if (answer !== undefined) {
            if (!acceptable(pending.request, answer)) {
              await store.clearAnswer(id, row.answer as string);
              log('desk.answer-refused', { approvalId: id, why: 'self-approval or malformed' });
              continue;
            }
            live.delete(id);
            waiting(answer);
          } else if (now.getTime() > Date.parse(pending.request.expiresAt)) {
            // Nobody answered in time: the run records the request as expired, never as decided.
            live.delete(id);
            waiting({ approver: 'cloud:expiry', decision: 'rejected', reason: 'no answer before the request expired' });
          }
          continue;
        }
        // No live run here: only an Ask paused at its gate (its run's Cloud stopped) is settled from the store.
        if ((await store.readAsk(pending.askId))?.state !== 'paused') continue;
        try {
          const done = await completePendingApproval({ store, pending, answer, now, signingKey: opts.signingKey, pullRequest: opts.pullRequest });
          if (done !== undefined) log('desk.approval-settled', { approvalId: id, status: done.status, dir: done.dir });
        } catch (error) {
          if (!(error instanceof CloudError)) throw error;
          await store.clearAnswer(id, row.answer as string);
          log('desk.answer-refused', { approvalId: id, code: error.code });
        }
      }
    } catch (error) {
      log('desk.error', { message: error instanceof Error ? error.message : String(error) });
    } finally {
      settling = false;
    }
  };

  const unlisten = [await store.listen(CHANNELS.asks, () => void take()), await store.listen(CHANNELS.approvals, () => void settle())];
  // Expiries only: an approval nobody answered, an Ask whose Cloud stopped renewing its lease.
  const timer = setInterval(() => {
    void take();
    void settle();
  }, opts.tickMs ?? 1_000);
  const renewTimer = setInterval(() => {
    if (runs.size === 0) return;
    const asked = [...runs.keys()];
    void store
      .renewAskLeases(opts.instanceId, nowMs(), askLeaseMs)
      .then((owned) => {
        // An Ask this Cloud no longer owns was taken over (it was paused, or cut off, past its lease): stop that run.
        const still = new Set(owned);
        for (const askId of asked) if (!still.has(askId)) runs.get(askId)?.abort();
      })
      .catch(() => undefined);
  }, Math.max(100, Math.floor(askLeaseMs / 3)));
  void take();
  void settle();
  return {
    close: async () => {
      clearInterval(timer);
      clearInterval(renewTimer);
      controller.abort();
      for (const fn of unlisten) await fn().catch(() => undefined);
      await Promise.all([...running]);
    },
  };
}

// The live run settles with resolveApproval and fails outright on an answer it refuses, so refuse it here first.
function acceptable(request: ApprovalRequest, answer: ApprovalAnswer): boolean {
  try {
    resolveApproval(request, answer, new Date(Date.parse(request.requestedAt)));
    return true;
  } catch (error) {
    if (error instanceof CloudError) return false;
    throw error;
  }
}

