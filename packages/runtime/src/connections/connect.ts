import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ConnectionErrorBodySchema, EnrollResponseSchema, parseStrictJson } from '@lumenflow/protocol';
import type { RuntimeHost } from '@lumenflow/protocol';
import { loadOrCreateSigningKey, parsePublicKeyPem, writeFileAtomic } from '@lumenflow/verifier';
import type { SigningKey } from '@lumenflow/verifier';
import { postEnrollment } from './http-client.js';

/** runtime.json in the state directory: who this runtime is to which Cloud. No secret lives here. */
export const RuntimeStateSchema = z.strictObject({
  schemaVersion: z.literal(1),
  cloudUrl: z.string().url(),
  // Everything Cloud answered at enrollment, kept as it came.
  ...EnrollResponseSchema.shape,
  /** The last dispatch sequence number handled, so a restart does not act on one twice. */
  lastSeq: z.number().int().nonnegative(),
});
export type RuntimeState = z.infer<typeof RuntimeStateSchema>;

/** Files under a runtime's state directory. */
export const RUNTIME_STATE_FILES = { key: 'runtime-key.pem', state: 'runtime.json', outbox: 'outbox' } as const;

export interface ConnectedRuntime {
  state: RuntimeState;
  signingKey: SigningKey;
  cloudPublicKey: Uint8Array;
  /** True when the runtime was already enrolled and resumed with its key. */
  resumed: boolean;
  /** Persists the last handled dispatch sequence number. */
  saveLastSeq(seq: number): Promise<void>;
}

/** Why connecting failed; the codes are Cloud's where Cloud answered. */
export type ConnectFailure = { ok: false; code: string; message: string };

/**
 * Loads or creates the runtime's key (0600, never sent), then resumes the
 * saved enrollment or enrolls with the one-time token. Returns a coded
 * failure instead of throwing for anything a user can cause.
 */
export async function connectRuntime(opts: {
  cloudUrl: string;
  stateDir: string;
  enrollToken?: string;
  labels: readonly string[];
  version: string;
  host: RuntimeHost;
}): Promise<({ ok: true } & ConnectedRuntime) | ConnectFailure> {
  let signingKey: SigningKey;
  try {
    // env: {} so that a demo signing key in the environment is never mistaken for the runtime's own.
    signingKey = (await loadOrCreateSigningKey({ defaultPath: join(opts.stateDir, RUNTIME_STATE_FILES.key), env: {} })).key;
  } catch (error) {
    return { ok: false, code: (error as { code?: string }).code ?? 'KEY_UNREADABLE', message: `${join(opts.stateDir, RUNTIME_STATE_FILES.key)}: the runtime key could not be loaded or created` };
  }
  const statePath = join(opts.stateDir, RUNTIME_STATE_FILES.state);
  let state: RuntimeState | undefined;
  try {
    const parsed = RuntimeStateSchema.safeParse(parseStrictJson(await readFile(statePath, 'utf8')));
    if (!parsed.success) return { ok: false, code: 'STATE_INVALID', message: `${statePath} is not a valid runtime state file` };
    state = parsed.data;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return { ok: false, code: 'STATE_INVALID', message: `${statePath} cannot be read` };
  }
  if (state !== undefined && (state.keyId !== signingKey.keyId || normaliseUrl(state.cloudUrl) !== normaliseUrl(opts.cloudUrl))) {
    return { ok: false, code: 'STATE_MISMATCH', message: `${statePath}: the state directory belongs to another key or another Cloud` };
  }
  const resumed = state !== undefined;
  if (state === undefined) {
    if (opts.enrollToken === undefined) return { ok: false, code: 'NOT_ENROLLED', message: `${statePath}: not enrolled yet; give a one-time token (--enroll-token-file, LUMENFLOW_ENROLL_TOKEN or --enroll-token)` };
    let reply;
    try {
      reply = await postEnrollment(opts.cloudUrl, {
        token: opts.enrollToken,
        publicKeyPem: signingKey.publicKeyPem,
        labels: [...opts.labels],
        version: opts.version,
        host: opts.host,
      });
    } catch {
      return { ok: false, code: 'CLOUD_UNREACHABLE', message: `cannot reach Cloud at ${opts.cloudUrl}` };
    }
    if (reply.status !== 201) {
      const error = ConnectionErrorBodySchema.safeParse(reply.body);
      return { ok: false, code: error.success ? error.data.error.code : `HTTP_${reply.status}`, message: error.success ? error.data.error.message : 'enrollment refused' };
    }
    const enrolled = EnrollResponseSchema.safeParse(reply.body);
    if (!enrolled.success || enrolled.data.keyId !== signingKey.keyId) return { ok: false, code: 'ENROLL_RESPONSE_INVALID', message: 'Cloud answered the enrollment with something else' };
    state = { schemaVersion: 1, cloudUrl: opts.cloudUrl, lastSeq: 0, ...enrolled.data };
    await writeFileAtomic(statePath, `${JSON.stringify(state, null, 2)}\n`);
  }
  let cloudPublicKey: Uint8Array;
  try {
    cloudPublicKey = parsePublicKeyPem(state.cloudPublicKeyPem);
  } catch {
    return { ok: false, code: 'STATE_INVALID', message: 'the pinned Cloud key is not a valid Ed25519 key' };
  }
  const current = state;
  return {
    ok: true,
    state: current,
    signingKey,
    cloudPublicKey,
    resumed,
    saveLastSeq: async (seq) => {
      current.lastSeq = seq;
      await writeFileAtomic(statePath, `${JSON.stringify(current, null, 2)}\n`);
    },
  };
}

function normaliseUrl(url: string): string {
  return url.replace(/\/+$/, '');
}
