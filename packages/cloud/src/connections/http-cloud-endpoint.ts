import { CloudToRuntimeMessageSchema, ProtocolError, RuntimeToCloudMessageSchema, createMessageInbox, parseTransportMessage } from '@lumenflow/protocol';
import type { CloudEndpoint, CloudToRuntimeMessage, RuntimeToCloudMessage } from '@lumenflow/protocol';
import type { ConnectionsServer } from './server.js';

/**
 * The Cloud side of the transport contract over Connections: what the chain's
 * Cloud sends becomes a signed dispatch for the runtime it names, and what a
 * runtime delivers reaches the chain only after its signature was checked
 * against the enrolled key and it was stored, through whichever Cloud process
 * on the database received it. The chain code is unchanged.
 */
export function createHttpCloudEndpoint(server: ConnectionsServer): CloudEndpoint {
  // Sessions this chain opened, until they end: their records are relayed, nothing else (memory stays flat).
  const sessionRuntime = new Map<string, string>();
  const relayed = new Set<string>();
  // A JSON copy, validated again, as every transport does on receipt.
  const inbox = createMessageInbox((message: unknown) => parseTransportMessage(RuntimeToCloudMessageSchema, JSON.parse(JSON.stringify(message))));
  let closed = false;
  const deliver = (message: RuntimeToCloudMessage): void => {
    if (closed) return;
    if (message.type !== 'runtime.enroll' && !relayed.has(message.sessionId)) return;
    inbox.push(message);
    if (message.type === 'session.ended') {
      const id = message.sessionId;
      relayed.delete(id);
      // The chain may still halt a session it gave up on; forget it a while later.
      setTimeout(() => sessionRuntime.delete(id), 60_000).unref();
    }
  };

  const unsubscribe = server.onStoredRecord(
    (notice) => notice.enroll || notice.sessions === null || notice.sessions.some((s) => relayed.has(s)),
    ({ record }) => {
      if (record.kind === 'runtime-message') deliver(record.message);
    },
  );
  // A Cloud that starts learns the runtimes enrolled before it from their stored handshakes.
  void server
    .storedEnrollments()
    .then((list) => {
      for (const stored of list) if (stored.record.kind === 'runtime-message') deliver(stored.record.message);
    })
    .catch(() => undefined);

  return {
    send: async (message: CloudToRuntimeMessage) => {
      if (closed) throw new ProtocolError('TRANSPORT_CLOSED', 'transport is closed');
      const checked = parseTransportMessage(CloudToRuntimeMessageSchema, JSON.parse(JSON.stringify(message)));
      let runtimeId: string | undefined;
      if (checked.type === 'runtime.enrolled' || checked.type === 'session.open') runtimeId = checked.runtimeId;
      else runtimeId = sessionRuntime.get(checked.sessionId);
      if (checked.type === 'session.open') {
        sessionRuntime.set(checked.sessionId, checked.runtimeId);
        relayed.add(checked.sessionId);
      }
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
