// The canaries of the canary suite (docs/secrets.md) and how to look for
// them: every form a secret takes in output, computed here independently of
// the redactor, searched for in every byte a run produced.
import { randomBytes } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

const word = (n: number): string => randomBytes(n).toString('hex');
const alnum = (n: number): string => Array.from(randomBytes(n), (b) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'[b % 62]).join('');
const base32 = (n: number): string => Array.from(randomBytes(n), (b) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[b % 32]).join('');
// Distinct per run, and nothing a pattern would catch unless meant to: known values must be found as known values.
export const CANARY = {
  env: `cnry-env-${word(12)}`,
  envMulti: `cnry-multi-a-${word(8)}\ncnry-multi-b-${word(8)}\ncnry-multi-c-${word(8)}`,
  providerToken: `cnry-gh-${word(16)}`,
  dotenv: `cnry-dotenv-${word(12)}`,
  dotenvMulti: `cnry-pem-a-${word(8)}\ncnry-pem-b-${word(8)}`,
  testPattern: `ghp_${alnum(36)}`,
  awsKey: `AKIA${base32(16)}`,
  agentToken: `sk_live_${alnum(24)}`,
};
export const ALL = Object.values(CANARY);

/** Every form a canary may take in output, computed here independently of the redactor. */
export function encodings(secret: string): string[] {
  const forms = new Set<string>();
  const sources = [secret, secret.replace(/\n/g, '\r\n'), ...secret.split('\n')].filter((s) => s.length >= 8);
  for (const s of sources) {
    forms.add(s);
    forms.add(JSON.stringify(s).slice(1, -1));
    forms.add(encodeURIComponent(s));
    forms.add(Buffer.from(s).toString('hex'));
    forms.add(Buffer.from(s).toString('hex').toUpperCase());
    const n = Buffer.byteLength(s);
    for (const pad of [0, 1, 2]) {
      for (const enc of ['base64', 'base64url'] as const) {
        // Inside a longer stream, only the groups made of the secret's own bytes are fixed by it.
        const stream = Buffer.concat([Buffer.alloc(pad, 0x41), Buffer.from(s)]).toString(enc);
        const from = 4 * Math.ceil(pad / 3);
        const to = 4 * Math.floor((pad + n) / 3);
        if (to - from >= 8) forms.add(stream.slice(from, to));
      }
    }
  }
  return [...forms];
}

/** Every regular file under `dir`, by path, as latin1 (bytes one to one). */
export async function readTree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.set(join(entry.parentPath, entry.name), await readFile(join(entry.parentPath, entry.name), 'latin1'));
  }
  return out;
}

/** Where any canary shows up, in any of its encodings. */
export function hits(outputs: Map<string, string>): string[] {
  const found: string[] = [];
  for (const [name, secret] of Object.entries(CANARY)) {
    for (const form of encodings(secret)) {
      for (const [where, text] of outputs) if (text.includes(form)) found.push(`${name} as ${JSON.stringify(form.slice(0, 24))}… in ${where}`);
    }
  }
  return found;
}

/** A test file that prints the canaries in every encoding, names tests after them, and fails with them in its error. */
export function leakTestSource(): string {
  return `import { test } from 'node:test';
const canaries = ${JSON.stringify([CANARY.env, CANARY.envMulti, CANARY.providerToken, CANARY.dotenv, CANARY.dotenvMulti, CANARY.testPattern])};
const b64 = (s, enc) => Buffer.from(s).toString(enc);
for (const [i, c] of canaries.entries()) {
  test('prints canary ' + i + ' ' + c.split('\\n')[0], () => {
    console.log('plain', c);
    for (const line of c.split('\\n')) console.log('line', line);
    console.log('json', JSON.stringify({ c }));
    console.log('url', encodeURIComponent(c));
    console.log('hex', b64(c, 'hex'), b64(c, 'hex').toUpperCase());
    for (const pad of ['', 'a', 'ab']) console.log('b64', b64(pad + c, 'base64'), b64(pad + c, 'base64url'));
  });
}
test('fails with a secret in its error message', () => {
  throw new Error('connection refused for token ' + canaries[2] + ' and key ' + canaries[3]);
});
`;
}
