import { expect, test } from 'vitest';
import * as runtime from '@lumenflow/runtime';

test('the runtime package exports the Connections client API', () => {
  for (const name of [
    'DEFAULT_RETRY_POLICY',
    'RUNTIME_STATE_FILES',
    'checkDispatch',
    'connectRuntime',
    'createConnectionsClient',
    'createHttpRuntimeEndpoint',
    'openOutbox',
    'postEnrollment',
    'signRequestHeaders',
  ]) {
    expect(runtime, name).toHaveProperty(name);
  }
});
