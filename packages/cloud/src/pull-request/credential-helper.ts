import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROVIDER_TOKEN_ENV } from '@lumenflow/protocol';

/**
 * The one name under which the pull-request step reads its push token from
 * the environment. Register this value with the secrets redactor; nothing in
 * this directory writes it anywhere but the per-run credential file below.
 */
export const PR_TOKEN_ENV = PROVIDER_TOKEN_ENV;

/** A token as the step holds it: the value is reachable only through `reveal`, never through JSON or inspect. */
export interface PushToken {
  reveal(): string;
}

/** Wraps a token so that logging, JSON and util.inspect show no part of it. */
export function createPushToken(value: string): PushToken {
  if (value === '' || /[\r\n\0]/.test(value)) throw new RangeError('a push token is one non-empty line');
  const token = {
    reveal: () => value,
    toJSON: () => '[push token]',
    toString: () => '[push token]',
    [Symbol.for('nodejs.util.inspect.custom')]: () => '[push token]',
  };
  return Object.freeze(token);
}

/** The token from the environment, if set. */
export function readPushToken(env: NodeJS.ProcessEnv = process.env): PushToken | undefined {
  const value = env[PR_TOKEN_ENV];
  return value === undefined || value === '' ? undefined : createPushToken(value);
}

/**
 * Runs `use` with git configured to take credentials from a per-run helper: a
 * 0600 file in a fresh 0700 directory, printed by `cat` when git asks. The token
 * is never in a URL, an argv or a child's environment (only the file's path is),
 * and the directory is removed when `use` settles.
 */
export async function withCredentialHelper<T>(token: PushToken | undefined, use: (config: string[]) => Promise<T>): Promise<T> {
  if (token === undefined) return use([]);
  const dir = await mkdtemp(join(tmpdir(), 'lumenflow-cred-'));
  try {
    const file = join(dir, 'credential');
    await writeFile(file, `username=x-access-token\npassword=${token.reveal()}\n`, { mode: 0o600, flag: 'wx' });
    // git runs the helper through sh with the operation appended: answer `get` only.
    const helper = `!f() { test "$1" = get && cat '${file}'; }; f`;
    return await use(['-c', `credential.helper=${helper}`, '-c', 'credential.useHttpPath=true']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
