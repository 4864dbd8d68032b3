import { expect, test } from 'vitest';
import * as cloud from '@lumenflow/cloud';
import * as protocol from '@lumenflow/protocol';

test('the cloud package exports the Connections API', () => {
  for (const name of [
    'DEFAULT_ENROLL_TOKEN_TTL_MS',
    'authenticateRequest',
    'createEnrollToken',
    'createHttpCloudEndpoint',
    'createNonceCache',
    'hashEnrollToken',
    'openConnectionsServer',
    'verifyRuntimeReceipts',
    'completePendingApproval',
    'listPendingApprovals',
    'openOperatorDesk',
    'readAskOutcome',
    'readPendingApproval',
    'submitApprovalAnswer',
    'submitAsk',
  ]) {
    expect(cloud, name).toHaveProperty(name);
  }
});

test('the protocol package exports the Connections wire contract', () => {
  for (const name of [
    'CONNECTION_ERROR_CODES',
    'DispatchBodySchema',
    'EnrollRequestSchema',
    'EvidenceBatchSchema',
    'EvidenceRecordSchema',
    'REQUEST_HEADERS',
    'RuntimeReceiptSchema',
    'SIGNING_PURPOSES',
    'WorkItemSchema',
    'buildRefusalSigningPayload',
    'buildRequestSigningPayload',
    'computeSha256Digest',
  ]) {
    expect(protocol, name).toHaveProperty(name);
  }
});
