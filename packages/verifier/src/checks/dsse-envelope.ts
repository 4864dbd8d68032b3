// Family: the DSSE envelope. Its in-toto statement, signed by the bundle's key,
// must say exactly what the manifest says.
import { join } from 'node:path';
import { ProtocolError, formatIssuePath, parseStrictJsonBytes } from '@lumenflow/protocol';
import type { JsonValue } from '@lumenflow/protocol';
import { DSSE_FILE, DSSE_PAYLOAD_TYPE, IN_TOTO_STATEMENT_TYPE, MANIFEST_FILE, PREDICATE_TYPE, PUBLIC_KEY_FILE } from '../constants.js';
import { decodeCanonicalBase64, encodeDssePae } from '../dsse.js';
import { computeDsseKeyId, verifyEd25519 } from '../keys.js';
import { DsseEnvelopeSchema, InTotoStatementSchema } from '../manifest-schema.js';
import type { InTotoStatement, Manifest } from '../manifest-schema.js';
import { readFileCapped } from '../read-capped.js';
import { hexEqual, isCanonicalJson, listNames } from './shared.js';
import { failed, notRun, passed } from './types.js';
import type { BundleContext, Outcome } from './types.js';

const MAX_DSSE_BYTES = 8 * 1024 * 1024;

export async function checkDsseEnvelope(ctx: BundleContext): Promise<Outcome> {
  const read = await readFileCapped(join(ctx.root, DSSE_FILE), MAX_DSSE_BYTES);
  const { manifest, manifestSha256, bundleKey, bundleKeyId } = ctx;
  if (!manifest || manifestSha256 === undefined || !bundleKey || !bundleKeyId) {
    if (!read.ok && read.reason === 'missing') return failed('DSSE_MISSING', `${DSSE_FILE}: no such file`);
    return notRun('needs a valid manifest and public key');
  }
  if (!read.ok) return failed(read.reason === 'missing' ? 'DSSE_MISSING' : 'DSSE_INVALID', `${DSSE_FILE}: ${read.detail}`);
  let envelopeJson: JsonValue;
  try {
    envelopeJson = parseStrictJsonBytes(read.bytes);
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    return failed('DSSE_INVALID', `${DSSE_FILE}: ${error.message}`);
  }
  if (!isCanonicalJson(read.bytes, envelopeJson)) return failed('DSSE_INVALID', `${DSSE_FILE} is not RFC 8785 canonical JSON`);
  const envelope = DsseEnvelopeSchema.safeParse(envelopeJson);
  if (!envelope.success) {
    const issue = envelope.error.issues[0];
    return failed('DSSE_INVALID', `${DSSE_FILE}: ${formatIssuePath(issue?.path ?? [])}: ${issue?.message ?? 'invalid'}`);
  }
  const { payloadType, payload, signatures } = envelope.data;
  const signature = signatures[0];
  const payloadBytes = decodeCanonicalBase64(payload);
  const sigBytes = signature ? decodeCanonicalBase64(signature.sig) : undefined;
  if (payloadType !== DSSE_PAYLOAD_TYPE || !payloadBytes || !sigBytes || !signature) {
    return failed('DSSE_INVALID', `${DSSE_FILE}: payloadType must be ${DSSE_PAYLOAD_TYPE} and payload/sig canonical base64`);
  }
  // keyid is an unsigned hint, but it must name the signer: as bare hex (written since
  // ADR 0026), or with the sha256: prefix that bundles written before carry.
  if (signature.keyid !== computeDsseKeyId(bundleKeyId) && signature.keyid !== bundleKeyId) {
    return failed('DSSE_KEY_ID_MISMATCH', `${DSSE_FILE}: keyid ${signature.keyid} is not the bundle signer ${computeDsseKeyId(bundleKeyId)}`);
  }
  if (!verifyEd25519(sigBytes, encodeDssePae(payloadType, payloadBytes), bundleKey)) {
    return failed('DSSE_SIGNATURE_INVALID', `${DSSE_FILE}: signature does not verify over the DSSE PAE with ${PUBLIC_KEY_FILE}`);
  }
  let statementJson: JsonValue;
  try {
    statementJson = parseStrictJsonBytes(payloadBytes);
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    return failed('DSSE_INVALID', `${DSSE_FILE} payload: ${error.message}`);
  }
  // One statement has one signed spelling (RFC 8785), as the manifest does: a
  // second spelling of the same claims is a second document to reason about.
  if (!isCanonicalJson(payloadBytes, statementJson)) return failed('DSSE_INVALID', `${DSSE_FILE} payload is not RFC 8785 canonical JSON`);
  const statement = InTotoStatementSchema.safeParse(statementJson);
  if (!statement.success || statement.data._type !== IN_TOTO_STATEMENT_TYPE || statement.data.predicateType !== PREDICATE_TYPE) {
    return failed('DSSE_INVALID', `${DSSE_FILE} payload is not an in-toto Statement v1 with predicateType ${PREDICATE_TYPE}`);
  }
  const problems = compareWithManifest(statement.data, manifest, manifestSha256);
  if (problems.length > 0) return failed('DSSE_SUBJECTS_MISMATCH', `${DSSE_FILE}: ${listNames(problems)}`);
  return passed(`in-toto Statement v1, ${statement.data.subject.length} subjects`);
}

/** Every artifact and the manifest itself, no more, no less, with the same digests; and the same predicate. */
function compareWithManifest(statement: InTotoStatement, manifest: Manifest, manifestSha256: string): string[] {
  const expected = new Map<string, string>(manifest.artifacts.map((a) => [a.path, a.sha256]));
  expected.set(MANIFEST_FILE, manifestSha256);
  const seen = new Set<string>();
  const problems: string[] = [];
  let previous: string | undefined;
  for (const s of statement.subject) {
    if (previous !== undefined && previous > s.name) problems.push(`subjects are not sorted by name at ${s.name}`);
    previous = s.name;
    if (seen.has(s.name)) problems.push(`${s.name} listed twice`);
    seen.add(s.name);
    const want = expected.get(s.name);
    if (want === undefined) problems.push(`${s.name} is not in the manifest`);
    else if (!hexEqual(want, s.digest.sha256)) problems.push(`${s.name} digest differs`);
  }
  for (const name of expected.keys()) if (!seen.has(name)) problems.push(`${name} missing`);
  const p = statement.predicate;
  if (p.bundleKind !== manifest.bundleKind || p.runId !== manifest.runId || p.mode !== manifest.mode || p.createdAt !== manifest.createdAt) {
    problems.push('predicate differs from the manifest');
  }
  return problems;
}
