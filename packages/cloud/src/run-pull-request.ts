import { omitUndefined } from '@lumenflow/protocol';
import type { ApprovalRecord } from '@lumenflow/protocol';
import { applyPullRequestStep } from './pull-request/step.js';
import type { PullRequestStepOutcome } from './pull-request/step.js';
import type { EarlyBaseFetch } from './pull-request/perform.js';
import type { RunContext } from './run-context.js';

/**
 * Step "pull request" (reported under approvals): with a provider configured
 * and the request approved, Cloud carries out exactly the approved action and
 * records it. Undefined when there is nothing to carry out.
 */
export async function openApprovedPullRequest(ctx: RunContext, approval: ApprovalRecord, files: Record<string, string>, early?: EarlyBaseFetch): Promise<PullRequestStepOutcome | undefined> {
  const config = ctx.request.pullRequest;
  if (config === undefined || approval.status !== 'approved') return undefined;
  ctx.progress({ step: 'approvals', state: 'item', detail: `pull request: ${config.provider} ${approval.request?.action.head ?? ''}` });
  const opened = await applyPullRequestStep({ config, artifacts: files, approval, clock: ctx.cloud.clock, ...omitUndefined({ early }) });
  if (opened !== undefined) {
    const out = opened.result.output;
    const detail = out.code === undefined ? `pull request ${out.provider}: ${out.url ?? out.branch} at ${out.headCommit ?? ''}${opened.result.replayed ? ' (recorded earlier)' : ''}` : `pull request ${out.provider} failed: ${out.code}`;
    ctx.progress({ step: 'approvals', state: 'item', detail });
    ctx.log('cloud.pull-request', { provider: out.provider, branch: out.branch, code: out.code ?? null, number: out.number ?? null });
  }
  return opened;
}
