import { expect, test } from 'vitest';
import * as cloud from '@lumenflow/cloud';

test('the cloud package exports its chain API (the replay API is checked by its own tests)', () => {
  for (const name of [
    'CloudError',
    'DEFAULT_APPROVAL_TTL_MS',
    'DEFAULT_SESSION_TIMEOUT_MS',
    'RUN_STEPS',
    'computeDiffStat',
    'createApprovalRequest',
    'createCloud',
    'derivePrTitle',
    'formatJsonFile',
    'formatJsonLines',
    'parseAsk',
    'renderNoPrSummary',
    'renderPrSummary',
    'resolveApproval',
    'selectRuntime',
    'sha256Digest',
    'applyPullRequestStep',
    'checkPrBinding',
    'openPrUseLedger',
    'performPullRequest',
    'readPushToken',
    'PR_TOKEN_ENV',
  ]) {
    expect(cloud, name).toHaveProperty(name);
  }
  // Replay is its own package; the approval hash it checks lives in the protocol.
  for (const name of ['replayBundle', 'checkChain', 'computeApprovalActionHash']) expect(cloud, name).not.toHaveProperty(name);
  // Line and column of a JSON path come from the strict parser (locateStrictJsonPath in the protocol).
  expect(cloud).not.toHaveProperty('locateJsonPath');
});
