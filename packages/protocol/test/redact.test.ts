import { createHash, randomBytes } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SECRET_PATTERNS, createRedactor, encodeSecretForms } from '@lumenflow/protocol';

const REPO_ROOT = resolve(import.meta.dirname, '../../..');
const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');

// A secret in the forms output takes: each must be gone after redaction.
function encodingsInStream(secret: string): string[] {
  const out: string[] = [secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret), Buffer.from(secret).toString('hex'), b64(secret)];
  for (const pad of ['', 'a', 'ab']) {
    out.push(b64(`${pad}${secret}!`), Buffer.from(`${pad}${secret}?`).toString('base64url'));
  }
  return out;
}

const secretArb = fc.string({ minLength: 12, maxLength: 60, unit: 'grapheme-ascii' }).filter((s) => s.trim().length >= 12 && !s.includes('['));

describe('createRedactor: known values in every encoding', () => {
  const secret = 'canary-7f3a-known-VALUE/with+symbols"and\\slashes';
  const r = createRedactor({ knownValues: [{ value: secret }] });

  it.each(encodingsInStream(secret).map((form, i) => [i, form] as const))('encoding #%i is redacted inside surrounding text', (_i, form) => {
    const out = r.redactText(`before ${form} after`);
    expect(out.count).toBeGreaterThan(0);
    for (const needle of encodeSecretForms(secret)) expect(out.text).not.toContain(needle);
    expect(out.text).toContain('[REDACTED:known-secret]');
  });

  it('redacts each line of a multi-line secret on its own', () => {
    const pem = 'first-line-of-the-secret\nsecond-line-of-the-secret\nthird-line-of-the-secret';
    const multi = createRedactor({ knownValues: [{ value: pem, kind: 'deploy-key' }] });
    const out = multi.redactText('log: second-line-of-the-secret\nother: third-line-of-the-secret');
    expect(out).toEqual({ text: 'log: [REDACTED:deploy-key]\nother: [REDACTED:deploy-key]', count: 2, kinds: ['deploy-key'] });
  });

  it('ignores known values shorter than the minimum, which would blank ordinary text', () => {
    expect(createRedactor({ knownValues: [{ value: 'abc' }] }).redactText('abc abc').count).toBe(0);
  });

  it('any secret, at any base64 alignment, leaves no full encoding behind', () => {
    fc.assert(
      fc.property(secretArb, fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), (s, pre, post) => {
        const red = createRedactor({ knownValues: [{ value: s }] });
        for (const form of encodingsInStream(s)) {
          const text = red.redactText(`${pre}${form}${post}`).text;
          expect(text.includes(s)).toBe(false);
          expect(text.includes(b64(s).replace(/=+$/, ''))).toBe(false);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('rejects a malformed kind as misuse', () => {
    expect(() => createRedactor({ knownValues: [{ value: 'x'.repeat(20), kind: 'Bad Kind' }] })).toThrow(TypeError);
  });
});

describe('createRedactor: high-specificity patterns', () => {
  const r = createRedactor();
  // Each sample is assembled at run time so no scanner mistakes this file for a leak.
  const samples: Array<[string, string]> = [
    ['private-key', `-----BEGIN ${'RSA '}PRIVATE KEY-----\nMIIEowIBAAKCAQEA${'x'.repeat(40)}\n-----END RSA PRIVATE KEY-----`],
    ['private-key', `-----BEGIN ${''}PRIVATE KEY-----\\nMC4CAQAwBQYDK2VwBCIEI${'A'.repeat(20)}\\n-----END PRIVATE KEY-----`],
    ['aws-access-key', `AKIA${'IOSFODNN7EXAMPLE'}`],
    ['github-token', `ghp_${'a1B2'.repeat(9)}`],
    ['github-token', `ghs_${'Z9y8'.repeat(9)}`],
    ['github-token', `github_pat_${'11ABCDEFG0'.repeat(4)}`],
    ['slack-token', `xoxb-${'1234567890'}-abcdefABCDEF`],
    ['stripe-key', `sk_live_${'4eC39HqLyjWDarjtT1zdp7dc'}`],
    ['google-api-key', `AIza${'SyA'.padEnd(35, 'q')}`],
    ['npm-token', `npm_${'a'.repeat(36)}`],
    ['jwt', `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.${'dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'}`],
  ];
  it.each(samples)('redacts a %s', (kind, sample) => {
    const out = r.redactText(`token=${sample} end`);
    expect(out.kinds).toEqual([kind]);
    expect(out.text).toBe(`token=[REDACTED:${kind}] end`);
  });

  it('leaves near misses alone: a short ghp_, an AKIA inside a word, a lone eyJ', () => {
    for (const text of ['ghp_short', `xAKIA${'IOSFODNN7EXAMPLE'}`, 'eyJhbGciOiJIUzI1NiJ9 alone', 'sk_live_', '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----']) {
      expect(r.redactText(text).count, text).toBe(0);
    }
  });

  it('every pattern kind is documented in docs/secrets.md', async () => {
    const doc = await readFile(join(REPO_ROOT, 'docs/secrets.md'), 'utf8');
    for (const p of SECRET_PATTERNS) expect(doc, p.kind).toContain(`\`${p.kind}\``);
  });
});

describe('createRedactor: idempotent', () => {
  const known = ['idem-secret-value-0001', 'another\nmulti-line\nsecret-value'];
  const r = createRedactor({ knownValues: known.map((value) => ({ value })) });
  const pieces = fc.oneof(
    fc.string({ maxLength: 20 }),
    fc.constantFrom(...known.flatMap(encodeSecretForms), `ghp_${'q'.repeat(36)}`, `AKIA${'ABCDEFGHIJKLMNOP'}`, '[REDACTED:', ']', '\\n', '\n'),
  );
  it('redacting twice equals redacting once', () => {
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 12 }), (parts) => {
        const once = r.redactText(parts.join('')).text;
        expect(r.redactText(once)).toEqual({ text: once, count: 0, kinds: [] });
      }),
      { numRuns: 500 },
    );
  });
});

describe('createRedactor: no false positives on what the Proof needs', () => {
  const r = createRedactor({ knownValues: [{ value: 'golden-check-known-secret' }] });

  it.each(['happy', 'policy-blocked'])('changes nothing in the %s golden bundle', async (mode) => {
    const dir = join(REPO_ROOT, 'test/golden', mode);
    for (const name of await readdir(dir)) {
      const text = await readFile(join(dir, name), 'utf8');
      expect(r.redactText(text).count, name).toBe(0);
      if (name.endsWith('.json')) expect(r.redactValue(JSON.parse(text)).summary, name).toBeUndefined();
    }
  });

  it('never touches a sha256 digest, a git object id or a base64 signature', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), (bytes) => {
        const buf = Buffer.from(bytes);
        const digest = `sha256:${createHash('sha256').update(buf).digest('hex')}`;
        const oid = createHash('sha1').update(buf).digest('hex');
        const text = `${digest} ${oid} ${buf.toString('base64')} ${buf.toString('base64url')} ${buf.toString('hex')}`;
        expect(r.redactText(text).count).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});

describe('redactValue: free text only, with a summary and no values', () => {
  const secret = randomBytes(12).toString('hex');
  const r = createRedactor({ knownValues: [{ value: secret }] });

  it('redacts strings at any depth, names their fields and leaves protected fields alone', () => {
    const record = {
      schemaVersion: 1,
      decisionId: `rdec-${secret}`,
      reason: `denied ${secret}`,
      tests: [{ name: 'ok' }, { name: `leaks ${secret}` }],
      policyDigest: `sha256:${'0'.repeat(64)}`,
      signature: { keyId: 'k', value: secret },
    };
    const { value, summary } = r.redactValue(record);
    expect(summary).toEqual({ count: 2, kinds: ['known-secret'], fields: ['reason', 'tests[1].name'] });
    expect(JSON.stringify(summary)).not.toContain(secret);
    expect(value.reason).toBe('denied [REDACTED:known-secret]');
    expect(value.tests[1]?.name).toBe('leaks [REDACTED:known-secret]');
    expect(value.decisionId).toBe(record.decisionId);
    expect(value.signature).toBe(record.signature);
    expect(record.reason).toContain(secret);
  });

  it('returns the same object and no summary when nothing matched', () => {
    const record = { reason: 'nothing here', list: ['a', 'b'] };
    const out = r.redactValue(record);
    expect(out.value).toBe(record);
    expect(out.summary).toBeUndefined();
  });

  it('findSecret names the kind of the first secret, without redacting', () => {
    expect(r.findSecret(`x ${Buffer.from(secret).toString('base64')} y`)).toBe('known-secret');
    expect(r.findSecret(`x ghp_${'a'.repeat(36)}`)).toBe('github-token');
    expect(r.findSecret('clean text')).toBeUndefined();
  });
});
