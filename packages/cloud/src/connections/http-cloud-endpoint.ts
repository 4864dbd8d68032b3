import { CloudToRuntimeMessageSchema, ProtocolError, RuntimeToCloudMessageSchema, createMessageInbox, parseTransportMessage } from '@lumenflow/protocol';
import type { CloudEndpoint, CloudToRuntimeMessage } from '@lumenflow/protocol';
import type { ConnectionsServer } from './server.js';

/**
 * The Cloud side of the transport contract over Connections: what the chain's
 * Cloud sends becomes a signed dispatch for the runtime it names, and what a
 * runtime delivers reaches the Cloud only after its signature was checked
 * against the enrolled key and it was stored. The chain code is unchanged.
 */
export function createHttpCloudEndpoint(server: ConnectionsServer): CloudEndpoint {
  const sessionRuntime = new Map<string, string>();
  // A JSON copy, validated again, as every transport does on receipt.
  const inbox = createMessageInbox((message: unknown) => parseTransportMessage(RuntimeToCloudMessageSchema, JSON.parse(JSON.stringify(message))));
  let closed = false;

  const unsubscribe = server.onRecord(({ record }) => {
    if (closed || record.kind !== 'runtime-message') return;
    inbox.push(record.message);
  });

  return {
    send: async (message: CloudToRuntimeMessage) => {
      if (closed) throw new ProtocolError('TRANSPORT_CLOSED', 'transport is closed');
      const checked = parseTransportMessage(CloudToRuntimeMessageSchema, JSON.parse(JSON.stringify(message)));
      let runtimeId: string | undefined;
      if (checked.type === 'runtime.enrolled' || checked.type === 'session.open') runtimeId = checked.runtimeId;
      else runtimeId = sessionRuntime.get(checked.sessionId);
      if (checked.type === 'session.open') sessionRuntime.set(checked.sessionId, checked.runtimeId);
      if (runtimeId === undefined) throw new ProtocolError('SCHEMA_INVALID', `no runtime holds session ${checked.type === 'runtime.enrolled' ? '' : checked.sessionId}`);
      await server.dispatch(runtimeId, checked);
    },
    onMessage: inbox.onMessage,
    onError: inbox.onError,
    close: () => {
      closed = true;
      inbox.close();
      unsubscribe();
    },
  };
}
