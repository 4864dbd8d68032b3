import { createRedactor, mergeRedactionSummaries, secretsFromEnvironment } from '@lumenflow/protocol';
import type { KnownSecret, Redactor, RuntimeToCloudMessage } from '@lumenflow/protocol';

/**
 * Cloud's side of the one redaction point (ADR 0034): what Cloud writes (the
 * bundle's files it authors, the PR text, its log and progress) passes this
 * redactor before it is written, hashed or signed.
 */
export interface EvidenceRedactor {
  readonly redactor: Redactor;
  /** A record Cloud authored, redacted, with `redaction` added when anything was. */
  record<T extends { redaction?: unknown }>(record: T): T;
  /** Any other JSON value (ask.json, approval.json, log fields), redacted. */
  value<T>(value: T): T;
  text(text: string): string;
  /**
   * The kind of a secret Cloud knows that a runtime message still carries, or
   * undefined. The runtime signs what it sends, so Cloud cannot redact its
   * records without breaking their receipts: such a message is rejected.
   */
  secretIn(message: RuntimeToCloudMessage): string | undefined;
}

/**
 * @param knownSecrets values Cloud holds as secret (e.g. the PR provider's
 *   token); `GITHUB_TOKEN` from `env` is added when set.
 */
export function createEvidenceRedactor(knownSecrets: readonly KnownSecret[] = [], env: Readonly<Record<string, string | undefined>> = process.env): EvidenceRedactor {
  const redactor = createRedactor({ knownValues: [...knownSecrets, ...secretsFromEnvironment(env)] });
  return {
    redactor,
    record(record) {
      const { value, summary } = redactor.redactValue(record);
      if (summary === undefined) return record;
      return { ...value, redaction: mergeRedactionSummaries(record.redaction as Parameters<typeof mergeRedactionSummaries>[0], summary) };
    },
    value: (value) => redactor.redactValue(value).value,
    text: (text) => redactor.redactText(text).text,
    secretIn(message) {
      if (message.type === 'evidence.diff') return redactor.findSecret(message.patch);
      const { signature: _signature, ...rest } = message;
      return redactor.redactValue(rest).summary?.kinds[0];
    },
  };
}
