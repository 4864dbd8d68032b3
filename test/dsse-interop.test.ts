import { createHash, createPublicKey } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLE_V03_MEDIA_TYPE, bundleFromJSON } from '@sigstore/bundle';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireOrSkip, runPython } from '../packages/verifier/test/support/python.js';
import { runGoldenChain } from './golden/golden-run.js';

// A third party checks our DSSE envelope with its own tools and only the PEM. This
// runs the demo chain for real, then hands the envelope, unchanged, to Debian's
// python3-securesystemslib (the library in-toto verifies with) and to @sigstore/verify.

const SCRIPT = join(import.meta.dirname, 'support', 'dsse-securesystemslib.py');
let work: string;
let envelope: string;
let publicKeyPem: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lumenflow-dsse-interop-'));
  const run = await runGoldenChain('happy', work);
  envelope = await readFile(join(run.dir, 'manifest.dsse.json'), 'utf8');
  publicKeyPem = await readFile(join(run.dir, 'verifier-public-key.pem'), 'utf8');
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

type Verdict = { verified: boolean; error: string | null };
function securesystemslib(envelopeText: string): Verdict | { missing: string } {
  const run = runPython(SCRIPT, { envelope: envelopeText, publicKeyPem });
  return run.status === 'ok' ? (run.output as Verdict) : { missing: run.why };
}

describe('python3-securesystemslib on a demo bundle envelope', () => {
  it('verifies the envelope as written, and refuses it once the payload or the keyid changes', (ctx) => {
    const asWritten = securesystemslib(envelope);
    if ('missing' in asWritten) {
      requireOrSkip(`DSSE interop check needs Debian python3-securesystemslib: ${asWritten.missing}`, (note) => ctx.skip(note));
      return;
    }
    expect(asWritten).toEqual({ verified: true, error: null });

    const parsed = JSON.parse(envelope) as { payload: string; signatures: Array<{ keyid: string; sig: string }> };
    const statement = Buffer.from(parsed.payload, 'base64').toString('utf8').replace('"mode":"happy"', '"mode":"hapPy"');
    const tampered = { ...parsed, payload: Buffer.from(statement, 'utf8').toString('base64') };
    expect(securesystemslib(JSON.stringify(tampered))).toEqual({ verified: false, error: null });

    // Why the keyid is bare hex: the `sha256:` spelling earlier bundles used fails its key-id schema.
    const keyid = parsed.signatures[0]?.keyid ?? '';
    expect(keyid).toMatch(/^[0-9a-f]{64}$/);
    const prefixed = { ...parsed, signatures: [{ keyid: `sha256:${keyid}`, sig: parsed.signatures[0]?.sig ?? '' }] };
    const verdict = securesystemslib(JSON.stringify(prefixed));
    expect(verdict).toMatchObject({ verified: false, error: expect.stringMatching(/^FormatError/) as unknown });
  });
});

describe('@sigstore/verify on a demo bundle envelope', () => {
  // Offline, with the PEM as a plain key: no transparency log, no timestamps. The
  // envelope goes into a Sigstore bundle unchanged; its keyid is the key hint, and the
  // key finder knows one key, under the SHA-256 of its DER SPKI computed here.
  function verifyWithSigstore(envelopeJson: unknown): void {
    const der = createPublicKey(publicKeyPem).export({ format: 'der', type: 'spki' });
    const hint = createHash('sha256').update(der).digest('hex');
    const envelopeObject = envelopeJson as { signatures: Array<{ keyid: string }> };
    const bundle = bundleFromJSON({
      mediaType: BUNDLE_V03_MEDIA_TYPE,
      verificationMaterial: { publicKey: { hint: envelopeObject.signatures[0]?.keyid }, tlogEntries: [], timestampVerificationData: { rfc3161Timestamps: [] } },
      dsseEnvelope: envelopeJson,
    });
    const root = { mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] };
    const trust = toTrustMaterial(root as unknown as Parameters<typeof toTrustMaterial>[0], (keyHint: string) => {
      if (keyHint !== hint) throw new Error(`no key for hint ${keyHint}`);
      return { publicKey: createPublicKey(publicKeyPem), validFor: () => true };
    });
    new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(toSignedEntity(bundle));
  }

  it('verifies the envelope as written, with its keyid as the key hint', () => {
    expect(() => verifyWithSigstore(JSON.parse(envelope))).not.toThrow();
  });

  it('refuses it once the payload or the signature changes', () => {
    const parsed = JSON.parse(envelope) as { payload: string; signatures: Array<{ keyid: string; sig: string }> };
    const statement = Buffer.from(parsed.payload, 'base64').toString('utf8').replace('"mode":"happy"', '"mode":"hapPy"');
    expect(() => verifyWithSigstore({ ...parsed, payload: Buffer.from(statement, 'utf8').toString('base64') })).toThrow(/signature/i);
    const sig = Buffer.from(parsed.signatures[0]?.sig ?? '', 'base64');
    sig[10] = (sig[10] ?? 0) ^ 1;
    const keyid = parsed.signatures[0]?.keyid ?? '';
    expect(() => verifyWithSigstore({ ...parsed, signatures: [{ keyid, sig: sig.toString('base64') }] })).toThrow(/signature/i);
  });
});
