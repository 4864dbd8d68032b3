export { RUNTIME_STATE_FILES, RuntimeStateSchema, connectRuntime } from './connect.js';
export { checkDispatch } from './dispatch-check.js';
export { DEFAULT_RETRY_POLICY, createConnectionsClient, postEnrollment, signRequestHeaders } from './http-client.js';
export { createHttpRuntimeEndpoint } from './http-runtime-endpoint.js';
export { openOutbox } from './outbox.js';

export type { ConnectFailure, ConnectedRuntime, RuntimeState } from './connect.js';
export type { DispatchCheck } from './dispatch-check.js';
export type { ConnectionsClient, ConnectionsReply, RetryPolicy } from './http-client.js';
export type { HttpRuntimeEndpoint, HttpRuntimeEndpointOptions } from './http-runtime-endpoint.js';
export type { Outbox } from './outbox.js';
