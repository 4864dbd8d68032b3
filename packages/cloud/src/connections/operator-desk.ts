import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { AskSchema, IdSchema, omitUndefined, parseStrictJson } from '@lumenflow/protocol';
import type { Ask, Clock, IdSource } from '@lumenflow/protocol';
import { writeFileAtomic } from '@lumenflow/verifier';
import type { SigningKey } from '@lumenflow/verifier';
import { resolveApproval } from '../approvals.js';
import type { ApprovalAnswer, ApprovalRequest } from '../approvals.js';
import type { Cloud, RunResult } from '../cloud.js';
import { CloudError } from '../errors.js';
import { buildReplayUrl } from '@lumenflow/replay';
import { createFileExclusive, listJsonFiles, readFileIfExists } from './atomic-file.js';
import {
  completePendingApproval,
  listPendingApprovals,
  markApprovalSettled,
  readApprovalAnswer,
  refuseApprovalAnswer,
  savePendingApproval,
} from './approval-store.js';
import type { PendingApproval } from './approval-store.js';
import type { PullRequestConfig } from '../pull-request/perform.js';

// The operator's side of `cloud serve`, through files in its data directory:
// Asks dropped in `asks/` are run, approvals wait in `approvals/` for an answer
// file. Files, not a socket, so that a request made while Cloud is down, or an
// approval pending when it stopped, is still there when it starts again.

export interface OperatorDeskOptions {
  dataDir: string;
  cloud: Cloud;
  /** The Proof signer: it finishes stored approvals after a restart. */
  signingKey: SigningKey;
  clock: Clock;
  ids: IdSource;
  replayBaseUrl: string;
  approvalTtlMs?: number;
  /** How Cloud carries out an approved pull request (`cloud serve --pr …`); absent: none is. */
  pullRequest?: PullRequestConfig;
  /** How long an Ask waits for a runtime with its labels. */
  runtimeWaitMs?: number;
  pollMs?: number;
  log?: (event: string, fields: Record<string, unknown>) => void;
}

export interface OperatorDesk {
  /** Stops taking Asks and polling; a run in flight is left to the process's end. */
  close(): Promise<void>;
}

/** The outcome of a submitted Ask, written to `asks/<askId>.result.json`. */
export type AskOutcome =
  | { askId: string; ok: true; runId: string; dir: string; ending: RunResult['ending']; approvalStatus: RunResult['approvalStatus'] }
  | { askId: string; ok: false; runId: string; code: string; message: string };

const RESULT_SUFFIX = '.result.json';

/** Where an Ask goes in, and where its outcome comes out. */
export function askPaths(dataDir: string, askId: string): { submitted: string; taken: string; result: string } {
  IdSchema.parse(askId);
  const dir = join(dataDir, 'asks');
  return { submitted: join(dir, `${askId}.json`), taken: join(dir, `${askId}.taken`), result: join(dir, `${askId}${RESULT_SUFFIX}`) };
}

/**
 * Queues an Ask for `cloud serve`; false when an Ask with that id was already submitted.
 *
 * @throws {CloudError} ASK_INVALID for an id ending in `.result`: its file would read as another Ask's outcome.
 */
export async function submitAsk(dataDir: string, ask: Ask): Promise<boolean> {
  if (ask.askId.endsWith('.result')) throw new CloudError('ASK_INVALID', `askId ${ask.askId} may not end in .result`);
  const paths = askPaths(dataDir, ask.askId);
  if ((await readFileIfExists(paths.taken)) !== undefined) return false;
  return createFileExclusive(paths.submitted, `${JSON.stringify(AskSchema.parse(ask))}\n`);
}

/** The outcome of a submitted Ask, once there is one. */
export async function readAskOutcome(dataDir: string, askId: string): Promise<AskOutcome | undefined> {
  const text = await readFileIfExists(askPaths(dataDir, askId).result);
  return text === undefined ? undefined : (JSON.parse(text) as AskOutcome);
}

/** Starts running submitted Asks and settling stored approvals, polling the data directory. */
export function openOperatorDesk(opts: OperatorDeskOptions): OperatorDesk {
  const log = opts.log ?? (() => undefined);
  const pollMs = opts.pollMs ?? 200;
  // Approvals a live run waits on: the poll hands them their answer. Any other stored approval is settled here.
  const owned = new Set<string>();
  const live = new Map<string, (answer: ApprovalAnswer) => void>();
  const controller = new AbortController();
  let queue = Promise.resolve();
  let ticking = false;

  const runAsk = async (ask: Ask): Promise<void> => {
    const runId = opts.ids.next('run');
    const paths = askPaths(opts.dataDir, ask.askId);
    let approvalId: string | undefined;
    let outcome: AskOutcome;
    try {
      await opts.cloud.waitForRuntime(ask.runtimeLabels, controller.signal, opts.runtimeWaitMs ?? 60_000);
      const result = await opts.cloud.run({
        runId,
        ask,
        outDir: join(opts.dataDir, 'bundles'),
        replayUrl: buildReplayUrl(opts.replayBaseUrl, runId),
        signal: controller.signal,
        ...omitUndefined({ approvalTtlMs: opts.approvalTtlMs, pullRequest: opts.pullRequest }),
        onApprovalPending: async (pending) => {
          approvalId = pending.request.approvalId;
          owned.add(approvalId);
          await savePendingApproval(opts.dataDir, pending);
          log('desk.approval-pending', { approvalId, runId, expiresAt: pending.request.expiresAt });
        },
        approver: (request) => waitForAnswer(request),
      });
      outcome = { askId: ask.askId, ok: true, runId, dir: result.dir, ending: result.ending, approvalStatus: result.approvalStatus };
      if (approvalId !== undefined && (result.approvalStatus === 'approved' || result.approvalStatus === 'rejected' || result.approvalStatus === 'expired')) {
        await markApprovalSettled(opts.dataDir, approvalId, { status: result.approvalStatus, dir: result.dir });
      }
    } catch (error) {
      // Stopped while waiting on a person: the stored approval, not this run, finishes the Ask after a restart.
      if (approvalId !== undefined && controller.signal.aborted) {
        owned.delete(approvalId);
        live.delete(approvalId);
        log('desk.ask-paused', { askId: ask.askId, runId, approvalId });
        return;
      }
      const code = error instanceof CloudError || (error instanceof Error && typeof (error as { code?: unknown }).code === 'string') ? String((error as { code: string }).code) : 'INTERNAL';
      outcome = { askId: ask.askId, ok: false, runId, code, message: error instanceof Error ? error.message : String(error) };
    } finally {
      if (approvalId !== undefined) {
        live.delete(approvalId);
        owned.delete(approvalId);
      }
    }
    await writeFileAtomic(paths.result, `${JSON.stringify(outcome)}\n`);
    log('desk.ask-done', { askId: ask.askId, runId, ok: outcome.ok });
  };

  const waitForAnswer = (request: ApprovalRequest): Promise<ApprovalAnswer> =>
    new Promise((resolve) => {
      live.set(request.approvalId, resolve);
    });

  const takeAsks = async (): Promise<void> => {
    for (const name of await listJsonFiles(join(opts.dataDir, 'asks'))) {
      // Outcomes live beside the Asks (`<id>.result.json`): they are never taken as an Ask.
      if (name.endsWith(RESULT_SUFFIX)) continue;
      const askId = name.slice(0, -'.json'.length);
      if (!IdSchema.safeParse(askId).success) continue;
      const paths = askPaths(opts.dataDir, askId);
      // Taken before it runs: a Cloud that stops mid-run does not start the same Ask twice.
      try {
        await rename(paths.submitted, paths.taken);
      } catch {
        continue;
      }
      const text = (await readFileIfExists(paths.taken)) ?? '';
      let ask: Ask;
      try {
        ask = AskSchema.parse(parseStrictJson(text));
      } catch {
        await writeFileAtomic(paths.result, `${JSON.stringify({ askId, ok: false, runId: '', code: 'ASK_INVALID', message: 'the submitted Ask does not match AskSchema' })}\n`);
        continue;
      }
      log('desk.ask-taken', { askId });
      queue = queue.then(() => runAsk(ask));
    }
  };

  const settle = async (pending: PendingApproval): Promise<void> => {
    const id = pending.request.approvalId;
    const answer = await readApprovalAnswer(opts.dataDir, id);
    const now = opts.clock.now();
    if (owned.has(id)) {
      const waiting = live.get(id);
      if (waiting === undefined) return;
      if (answer !== undefined) {
        if (!acceptable(pending.request, answer)) {
          await refuseApprovalAnswer(opts.dataDir, id);
          log('desk.answer-refused', { approvalId: id, why: 'self-approval or malformed' });
          return;
        }
        live.delete(id);
        waiting(answer);
      } else if (now.getTime() > Date.parse(pending.request.expiresAt)) {
        // Nobody answered in time: the run records the request as expired, never as decided.
        live.delete(id);
        waiting({ approver: 'cloud:expiry', decision: 'rejected', reason: 'no answer before the request expired' });
      }
      return;
    }
    // A stored approval with no live run: Cloud restarted while it was pending.
    try {
      const done = await completePendingApproval({ dataDir: opts.dataDir, pending, answer, now, signingKey: opts.signingKey, pullRequest: opts.pullRequest });
      if (done !== undefined) {
        await writeFileAtomic(askPaths(opts.dataDir, pending.askId).result, `${JSON.stringify({ askId: pending.askId, ok: true, runId: pending.runId, dir: done.dir, ending: done.pullRequest?.code === undefined ? done.status : 'pr-failed', approvalStatus: done.status })}\n`);
        log('desk.approval-settled', { approvalId: id, status: done.status, dir: done.dir });
      }
    } catch (error) {
      if (!(error instanceof CloudError)) throw error;
      await refuseApprovalAnswer(opts.dataDir, id);
      log('desk.answer-refused', { approvalId: id, code: error.code });
    }
  };

  const tick = async (): Promise<void> => {
    if (ticking || controller.signal.aborted) return;
    ticking = true;
    try {
      await takeAsks();
      for (const pending of await listPendingApprovals(opts.dataDir)) await settle(pending);
    } catch (error) {
      log('desk.error', { message: error instanceof Error ? error.message : String(error) });
    } finally {
      ticking = false;
    }
  };

  const timer = setInterval(() => void tick(), pollMs);
  void tick();
  return {
    close: async () => {
      clearInterval(timer);
      controller.abort();
      await queue.catch(() => undefined);
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
