import { CloudToRuntimeMessageSchema, ProtocolError, RuntimeToCloudMessageSchema, parseTransportMessage } from '@lumenflow/protocol';
import type { CloudEndpoint, CloudToRuntimeMessage, RuntimeToCloudMessage } from '@lumenflow/protocol';
import type { ConnectionsServer } from './server.js';

/**
 * The Cloud side of the transport contract over Connections: what the chain's
 * Cloud sends becomes a signed dispatch for the runtime it names, and what a
 * runtime delivers reaches the Cloud only after its signature was checked
 * against the enrolled key and it was stored. The chain code is unchanged.
 */
export function createHttpCloudEndpoint(server: ConnectionsServer): CloudEndpoint {
  const sessionRuntime = new Map<string, string>();
  let handler: ((message: RuntimeToCloudMessage) => void | Promise<void>) | undefined;
  let errorHandler: (error: unknown) => void = () => undefined;
  const pending: RuntimeToCloudMessage[] = [];
  let draining = false;
  let closed = false;

  const drain = async (): Promise<void> => {
    if (draining) return;
    draining = true;
    try {
      while (handler !== undefined && pending.length > 0 && !closed) {
        const message = pending.shift() as RuntimeToCloudMessage;
        try {
          await handler(message);
        } catch (error) {
          errorHandler(error);
        }
      }
    } finally {
      draining = false;
    }
  };

  const unsubscribe = server.onRecord(({ record }) => {
    if (closed || record.kind !== 'runtime-message') return;
    try {
      // A JSON copy, validated again, as every transport does on receipt.
      pending.push(parseTransportMessage(RuntimeToCloudMessageSchema, JSON.parse(JSON.stringify(record.message))));
    } catch (error) {
      errorHandler(error);
      return;
    }
    void drain();
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
    onMessage: (next) => {
      handler = next;
      void drain();
    },
    onError: (next) => {
      errorHandler = next;
    },
    close: () => {
      closed = true;
      pending.length = 0;
      unsubscribe();
    },
  };
}
