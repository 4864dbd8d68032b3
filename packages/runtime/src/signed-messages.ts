import { canonicalizeToBytes } from '@lumenflow/protocol';
import type { Redactor, RuntimeEndpoint, RuntimeToCloudMessage, UnsignedRuntimeMessage } from '@lumenflow/protocol';
import type { SigningKey } from '@lumenflow/verifier';
import { redactMessage } from './redact-message.js';
import type { EvidenceSink } from './tool-host/evidence.js';

/** Sends one runtime message: redacted by `secrets` (default: the runtime's redactor), signed, handed to the endpoint. */
export type RuntimeSend = (message: UnsignedRuntimeMessage, secrets?: Redactor) => Promise<void>;

/**
 * How the runtime sends every message to Cloud. It passes the redactor first
 * (ADR 0034), so the signature covers what the bundle holds; then it is signed
 * with the runtime's Ed25519 key over its RFC 8785 form without `signature`
 * (what Cloud checks), and handed to the endpoint.
 *
 * @throws {RuntimeError} SECRET_IN_DIFF from the redactor, before anything is sent.
 */
export function createRuntimeSender(opts: {
  signingKey: SigningKey;
  endpoint: Pick<RuntimeEndpoint, 'send'>;
  redactor: Redactor;
  log?: (event: string, fields: Record<string, unknown>) => void;
}): RuntimeSend {
  return async (unredacted, secrets = opts.redactor) => {
    const message = redactMessage(secrets, unredacted);
    const signature = opts.signingKey.sign(canonicalizeToBytes(message));
    const signed = { ...message, signature: { keyId: opts.signingKey.keyId, value: Buffer.from(signature).toString('base64') } };
    opts.log?.('runtime.send', { type: message.type, messageId: message.messageId });
    await opts.endpoint.send(signed as RuntimeToCloudMessage);
  };
}

/**
 * A session's evidence sink: each record a tool host makes becomes one runtime
 * message of that session (`evidence.policy-decision`, `evidence.tool-call`,
 * `evidence.test-results`, `evidence.diff`), sent through `send` in the order
 * the host made them.
 */
export function createSessionEvidence(opts: {
  send: (message: UnsignedRuntimeMessage) => Promise<void>;
  messageId: () => string;
  runId: string;
  sessionId: string;
}): EvidenceSink {
  const inRun = { runId: opts.runId, sessionId: opts.sessionId };
  return {
    decision: (record) => opts.send({ type: 'evidence.policy-decision', messageId: opts.messageId(), ...inRun, record }),
    toolCall: (record) => opts.send({ type: 'evidence.tool-call', messageId: opts.messageId(), ...inRun, record }),
    testResults: (record) => opts.send({ type: 'evidence.test-results', messageId: opts.messageId(), ...inRun, record }),
    diff: (baselineCommit, patch) => opts.send({ type: 'evidence.diff', messageId: opts.messageId(), ...inRun, baselineCommit, patch }),
  };
}
