import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SECRET_PATTERNS, createRedactor, encodeSecretForms } from '@lumenflow/protocol';

// The fast scan (candidates, then a confirmation) must redact exactly what the
// plain definition does: leftmost first; at one position the longest known
// form, else the first pattern that matches there.
function reference(text: string, forms: ReadonlyMap<string, string>): string {
  const sorted = [...forms.keys()].sort((a, b) => b.length - a.length);
  const patterns = SECRET_PATTERNS.map((p) => ({ kind: p.kind, re: new RegExp(p.source, 'y') }));
  let out = '';
  let i = 0;
  while (i < text.length) {
    const literal = sorted.find((f) => text.startsWith(f, i));
    let length = literal?.length ?? 0;
    let kind = literal === undefined ? '' : (forms.get(literal) as string);
    if (literal === undefined) {
      for (const p of patterns) {
        p.re.lastIndex = i;
        const m = p.re.exec(text);
        if (m !== null && m[0] !== '') {
          length = m[0].length;
          kind = p.kind;
          break;
        }
      }
    }
    if (length === 0) {
      out += text.charAt(i);
      i += 1;
    } else {
      out += `[REDACTED:${kind}]`;
      i += length;
    }
  }
  return out;
}

const word = fc.stringMatching(/^[a-z0-9=+/._-]{1,12}$/);
const secret = fc.stringMatching(/^[A-Za-z0-9+/=_.-]{8,30}$/);

describe('createRedactor agrees with the plain definition of a redaction', () => {
  it('on text of words, known forms and pattern samples, between spaces', () => {
    const samples = [`ghp_${'aB3'.repeat(12)}`, `AKIA${'Q'.repeat(16)}`, `eyJhbGciOiJI.eyJzdWIiOiIx.${'s'.repeat(10)}`];
    fc.assert(
      fc.property(fc.array(secret, { minLength: 1, maxLength: 4 }), fc.array(fc.oneof(word, fc.nat(40), fc.constantFrom(...samples)), { maxLength: 40 }), (secrets, pieces) => {
        const forms = new Map<string, string>();
        for (const s of secrets) for (const f of encodeSecretForms(s)) if (!forms.has(f)) forms.set(f, 'known-secret');
        const allForms = [...forms.keys()];
        const text = pieces.map((p) => (typeof p === 'number' ? (allForms[p % allForms.length] ?? '') : p)).join(' ');
        const r = createRedactor({ knownValues: secrets.map((value) => ({ value })) });
        expect(r.redactText(text).text).toBe(reference(text, forms));
      }),
      { numRuns: 200 },
    );
  });
});
