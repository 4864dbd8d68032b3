import type { KnownSecret } from './redact.js';

// Where known secrets come from besides a caller's own list (docs/secrets.md):
// named environment variables. Pure: the caller hands in the environment.

/** The PR provider's token variable: its value is a known secret wherever it is set, configured or not. */
export const PROVIDER_TOKEN_ENV = 'GITHUB_TOKEN';

/** Kinds a redaction names by where the value came from; never the variable or file name. */
export const SECRET_SOURCE_KINDS = Object.freeze({
  env: 'env-secret',
  file: 'secret-file',
  providerToken: 'provider-token',
});

/**
 * The values of the named environment variables (those set and not empty),
 * plus {@link PROVIDER_TOKEN_ENV}'s when set, as known secrets.
 */
export function secretsFromEnvironment(env: Readonly<Record<string, string | undefined>>, names: readonly string[] = []): KnownSecret[] {
  const out: KnownSecret[] = [];
  const token = env[PROVIDER_TOKEN_ENV];
  if (token !== undefined && token !== '') out.push({ value: token, kind: SECRET_SOURCE_KINDS.providerToken });
  for (const name of names) {
    if (name === PROVIDER_TOKEN_ENV) continue;
    const value = env[name];
    if (value !== undefined && value !== '') out.push({ value, kind: SECRET_SOURCE_KINDS.env });
  }
  return out;
}

/**
 * The secret values a file marked secret holds: for a dotenv file (every
 * line blank, a `#` comment, or `NAME=value`, optionally after `export`),
 * each value with its quotes removed; for any other file, its whole text
 * (each of its lines is then matched too, see `encodeSecretForms`).
 */
export function secretFileValues(text: string): string[] {
  const lines = text.split(/\r?\n/);
  const values: string[] = [];
  let dotenv = true;
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?[A-Za-z_][A-Za-z0-9_.-]*\s*=\s*(.*)$/.exec(line);
    if (m === null) {
      dotenv = false;
      break;
    }
    values.push(unquote((m[1] ?? '').trim()));
  }
  if (!dotenv) return text.trim() === '' ? [] : [text.trim()];
  return values.filter((v) => v !== '');
}

function unquote(value: string): string {
  const q = value[0];
  if ((q === '"' || q === "'") && value.length >= 2 && value.endsWith(q)) {
    const inner = value.slice(1, -1);
    return q === '"' ? inner.replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1') : inner;
  }
  // An unquoted value ends at a ` #` comment.
  return value.replace(/\s+#.*$/, '');
}
