// Builds the test-vector corpus: valid bundles and ≥30 invalid ones, each a
// fixture folder with an expected.json. Everything is derived from a fixed
// TEST-ONLY key and fixed content, so regenerating gives identical bytes and a
// test can tell when the committed corpus is stale.
import { createHash } from 'node:crypto';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalize, canonicalizeToBytes } from '@lumenflow/protocol';
import type { NodeSession } from '@lumenflow/protocol';
import {
  DSSE_FILE,
  DSSE_PAYLOAD_TYPE,
  MANIFEST_FILE,
  PUBLIC_KEY_FILE,
  SIGNATURE_FILE,
  buildInTotoStatement,
  buildManifest,
  computeDsseKeyId,
  encodeDssePae,
  encodeDsseEnvelope,
  encodePublicKeyPem,
  parseSigningKeyPem,
} from '@lumenflow/verifier';
import type { BundleMode, InTotoStatement, Manifest, SigningKey } from '@lumenflow/verifier';
import {
  SAMPLE_CREATED_AT,
  SAMPLE_RUNTIME_KEY,
  SAMPLE_RUN_ID,
  sampleDecision,
  sampleHappyArtifacts,
  samplePolicyBlockedArtifacts,
  sampleToolCall,
  withRuntimeReceipts,
} from './sample-artifacts.js';

export type Entry = { kind: 'file'; bytes: Uint8Array } | { kind: 'symlink'; target: string } | { kind: 'dir'; entries: Tree };
export type Tree = Record<string, Entry>;

export interface Expected {
  comment: string;
  valid: boolean;
  /** Codes that must each appear on a failing check. */
  codes: string[];
  pin?: { trustedPublicKeyPem?: string; expectKeyId?: string };
}

export interface Vector {
  name: string;
  expected: Expected;
  bundle: Tree;
}

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

export async function loadTestKeys(): Promise<{ key: SigningKey; other: SigningKey }> {
  const key = parseSigningKeyPem(await readFile(join(FIXTURES, 'TEST-ONLY-signing-key.pem'), 'utf8'));
  const other = parseSigningKeyPem(await readFile(join(FIXTURES, 'TEST-ONLY-other-key.pem'), 'utf8'));
  return { key, other };
}

const enc = (text: string): Uint8Array => new TextEncoder().encode(text);
const file = (bytes: Uint8Array | string): Entry => ({ kind: 'file', bytes: typeof bytes === 'string' ? enc(bytes) : bytes });
const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

function artifactEntries(artifacts: Record<string, string | Uint8Array>): Tree {
  const tree: Tree = {};
  for (const [name, content] of Object.entries(artifacts)) tree[name] = file(content);
  return tree;
}

function manifestFor(artifacts: Record<string, string | Uint8Array>, mode: BundleMode, key: SigningKey): Manifest {
  return buildManifest({
    runId: SAMPLE_RUN_ID,
    mode,
    createdAt: SAMPLE_CREATED_AT,
    keyId: key.keyId,
    artifacts: Object.entries(artifacts).map(([path, content]) => {
      const bytes = typeof content === 'string' ? enc(content) : content;
      return { path, sha256: sha(bytes), size: bytes.length };
    }),
  });
}

/**
 * The sealing files for given manifest bytes: signature, PEM and a DSSE envelope
 * consistent with `statementManifest`, so a case breaks only the rule it targets.
 */
function seal(manifestBytes: Uint8Array, statementManifest: Manifest, key: SigningKey): Tree {
  const statement = buildInTotoStatement(statementManifest, MANIFEST_FILE, sha(manifestBytes));
  return {
    [MANIFEST_FILE]: file(manifestBytes),
    [SIGNATURE_FILE]: file(key.sign(manifestBytes)),
    [PUBLIC_KEY_FILE]: file(key.publicKeyPem),
    [DSSE_FILE]: file(encodeDsseEnvelope(statement, key)),
  };
}

/** A complete bundle whose manifest is `mutate(manifest)`, canonicalised and signed by `key`. */
function bundle(
  artifacts: Record<string, string | Uint8Array>,
  mode: BundleMode,
  key: SigningKey,
  mutate: (m: Manifest) => unknown = (m) => m,
): Tree {
  const manifest = mutate(manifestFor(artifacts, mode, key));
  return { ...artifactEntries(artifacts), ...seal(canonicalizeToBytes(manifest), manifest as Manifest, key) };
}

function editSession(text: string, edit: (session: NodeSession) => object): string {
  return canonicalize(edit(JSON.parse(text) as NodeSession));
}

/** Signs arbitrary manifest text (non-canonical, duplicate keys) over its exact bytes. */
function bundleWithRawManifest(artifacts: Record<string, string>, key: SigningKey, text: (m: Manifest) => string): Tree {
  const manifest = manifestFor(artifacts, 'happy', key);
  return { ...artifactEntries(artifacts), ...seal(enc(text(manifest)), manifest, key) };
}

function dsseWithStatement(statement: InTotoStatement, key: SigningKey, sig?: Uint8Array): Entry {
  const payload = canonicalizeToBytes(statement);
  const signature = sig ?? key.sign(encodeDssePae(DSSE_PAYLOAD_TYPE, payload));
  return file(
    canonicalize({
      payloadType: DSSE_PAYLOAD_TYPE,
      payload: Buffer.from(payload).toString('base64'),
      signatures: [{ keyid: computeDsseKeyId(key.keyId), sig: Buffer.from(signature).toString('base64') }],
    }),
  );
}

function dsseWithPayload(payload: Uint8Array, key: SigningKey): Entry {
  const signature = key.sign(encodeDssePae(DSSE_PAYLOAD_TYPE, payload));
  return file(
    canonicalize({
      payloadType: DSSE_PAYLOAD_TYPE,
      payload: Buffer.from(payload).toString('base64'),
      signatures: [{ keyid: computeDsseKeyId(key.keyId), sig: Buffer.from(signature).toString('base64') }],
    }),
  );
}

function bytesOf(tree: Tree, name: string): Uint8Array {
  const entry = tree[name];
  if (entry?.kind !== 'file') throw new Error(`${name} is not a file in the vector`);
  return entry.bytes;
}

function without<T>(tree: Record<string, T>, ...names: string[]): Record<string, T> {
  const copy = { ...tree };
  for (const name of names) delete copy[name];
  return copy;
}

function flipByte(bytes: Uint8Array, index: number): Uint8Array {
  const copy = bytes.slice();
  copy[index] = (copy[index] ?? 0) ^ 0x01;
  return copy;
}

// An Ed25519 point of order 4 (y = 0); with it, one signature can fit every message under lenient rules.
const SMALL_ORDER_KEY = new Uint8Array(32);

/** Every vector, valid and invalid. */
export async function buildVectors(): Promise<{ valid: Vector[]; invalid: Vector[] }> {
  const { key, other } = await loadTestKeys();
  const happy = sampleHappyArtifacts();
  const blocked = samplePolicyBlockedArtifacts();
  const base = bundle(happy, 'happy', key);
  const pinKey = { trustedPublicKeyPem: key.publicKeyPem };
  const pinId = { expectKeyId: key.keyId };
  const baseManifest = manifestFor(happy, 'happy', key);

  const valid: Vector[] = [
    { name: 'happy', bundle: base, expected: { comment: 'a happy run, pinned to the test key', valid: true, codes: [], pin: pinKey } },
    {
      name: 'policy-blocked',
      bundle: bundle(blocked, 'policy-blocked', key),
      expected: { comment: 'a policy-blocked run: no tool call, one Cloud deny', valid: true, codes: [], pin: pinId },
    },
    {
      name: 'happy-unpinned',
      bundle: base,
      expected: { comment: 'valid but not pinned: the report must say so (SIGNER_NOT_PINNED on a passing check)', valid: true, codes: [] },
    },
  ];

  const resignedByOther = bundle({ ...happy, 'file-diff.patch': `${happy['file-diff.patch']}+// injected\n` }, 'happy', other);
  const statement = buildInTotoStatement(baseManifest, MANIFEST_FILE, sha(bytesOf(base, MANIFEST_FILE)));

  const invalid: Array<[string, string, string[], Tree, Expected['pin']?]> = [
    // Files: modified, missing, extra, renamed, not regular.
    ['artifact-modified', 'one byte of file-diff.patch changed', ['ARTIFACT_DIGEST_MISMATCH'], { ...base, 'file-diff.patch': file(flipByte(bytesOf(base, 'file-diff.patch'), 10)) }],
    ['artifact-appended', 'bytes appended to pr-summary.md', ['ARTIFACT_SIZE_MISMATCH'], { ...base, 'pr-summary.md': file(`${happy['pr-summary.md']}extra\n`) }],
    ['artifact-truncated', 'replay-link.txt emptied', ['ARTIFACT_SIZE_MISMATCH'], { ...base, 'replay-link.txt': file('') }],
    ['artifact-missing', 'pr-summary.md deleted', ['ARTIFACT_MISSING'], without(base, 'pr-summary.md')],
    ['extra-file', 'an unlisted file beside the artifacts', ['UNEXPECTED_ENTRY'], { ...base, 'notes.txt': file('hello\n') }],
    ['extra-dotfile', 'a hidden file', ['UNEXPECTED_ENTRY'], { ...base, '.hidden': file('x') }],
    ['extra-directory', 'a sub-directory', ['UNEXPECTED_ENTRY', 'NOT_REGULAR_FILE'], { ...base, extra: { kind: 'dir', entries: { 'a.txt': file('a') } } }],
    ['artifact-renamed', 'approval.json renamed to approval.json.bak', ['ARTIFACT_MISSING', 'UNEXPECTED_ENTRY'], { ...without(base, 'approval.json'), 'approval.json.bak': base['approval.json'] as Entry }],
    ['artifact-is-directory', 'ask.json replaced by a directory', ['NOT_REGULAR_FILE', 'ARTIFACT_UNREADABLE'], { ...base, 'ask.json': { kind: 'dir', entries: { x: file('x') } } }],
    // The link points at identical content outside the bundle: only lstat can tell.
    ['symlink-artifact', 'ask.json is a symbolic link to identical content', ['NOT_REGULAR_FILE', 'ARTIFACT_UNREADABLE'], { ...base, 'ask.json': { kind: 'symlink', target: '../../../valid/happy/bundle/ask.json' } }],
    ['symlink-manifest', 'manifest.json is a symbolic link to a valid manifest', ['NOT_REGULAR_FILE', 'MANIFEST_UNREADABLE'], { ...base, [MANIFEST_FILE]: { kind: 'symlink', target: '../../../valid/happy/bundle/manifest.json' } }],
    // Paths.
    ['path-traversal', 'an artifact path climbing out of the bundle', ['ARTIFACT_PATH_INVALID'], bundle(happy, 'happy', key, (m) => ({ ...m, artifacts: m.artifacts.map((a) => (a.path === 'ask.json' ? { ...a, path: '../valid/ask.json' } : a)) }))],
    ['path-absolute', 'an absolute artifact path', ['ARTIFACT_PATH_INVALID'], bundle(happy, 'happy', key, (m) => ({ ...m, artifacts: [...m.artifacts, { path: '/etc/hostname', sha256: '0'.repeat(64), size: 1 }] }))],
    ['path-subdirectory', 'an artifact path with a separator', ['ARTIFACT_PATH_INVALID'], bundle(happy, 'happy', key, (m) => ({ ...m, artifacts: [...m.artifacts, { path: 'sub/x.txt', sha256: '0'.repeat(64), size: 1 }] }))],
    ['path-reserved-name', 'an artifact claiming the name manifest.sig', ['ARTIFACT_PATH_INVALID'], bundle(happy, 'happy', key, (m) => ({ ...m, artifacts: [...m.artifacts, { path: SIGNATURE_FILE, sha256: '0'.repeat(64), size: 64 }] }))],
    ['artifact-listed-twice', 'the same artifact listed twice', ['ARTIFACT_DUPLICATE'], bundle(happy, 'happy', key, (m) => ({ ...m, artifacts: [...m.artifacts, ...m.artifacts.slice(0, 1)] }))],
    // Signature.
    ['signature-truncated', 'manifest.sig is 63 bytes', ['SIGNATURE_MALFORMED'], { ...base, [SIGNATURE_FILE]: file(bytesOf(base, SIGNATURE_FILE).slice(0, 63)) }],
    ['signature-too-long', 'manifest.sig is 65 bytes', ['SIGNATURE_MALFORMED'], { ...base, [SIGNATURE_FILE]: file(Uint8Array.from([...bytesOf(base, SIGNATURE_FILE), 0])) }],
    ['signature-zeroed', 'manifest.sig is 64 zero bytes', ['SIGNATURE_INVALID'], { ...base, [SIGNATURE_FILE]: file(new Uint8Array(64)) }],
    ['signature-bit-flipped', 'one bit of manifest.sig flipped', ['SIGNATURE_INVALID'], { ...base, [SIGNATURE_FILE]: file(flipByte(bytesOf(base, SIGNATURE_FILE), 40)) }],
    ['signature-missing', 'no manifest.sig', ['SIGNATURE_MISSING'], without(base, SIGNATURE_FILE)],
    ['signature-non-canonical-s', 'S + L: accepted by lenient verifiers, refused by RFC 8032', ['SIGNATURE_INVALID'], { ...base, [SIGNATURE_FILE]: file(addGroupOrderToS(bytesOf(base, SIGNATURE_FILE))) }],
    // Keys and trust.
    ['wrong-key', 'verifier-public-key.pem swapped for another key, nothing re-signed', ['SIGNATURE_INVALID', 'KEY_ID_MISMATCH'], { ...base, [PUBLIC_KEY_FILE]: file(other.publicKeyPem) }],
    ['resigned-other-key-trusted-key', 'a modified bundle re-signed by another key, against a pinned public key', ['SIGNER_UNTRUSTED'], resignedByOther, pinKey],
    ['resigned-other-key-expect-key-id', 'a modified bundle re-signed by another key, against a pinned key id', ['SIGNER_UNTRUSTED'], resignedByOther, pinId],
    ['key-id-mismatch', 'manifest names another signer key id', ['KEY_ID_MISMATCH'], bundle(happy, 'happy', key, (m) => ({ ...m, signer: { ...m.signer, keyId: other.keyId } }))],
    ['public-key-small-order', 'verifier-public-key.pem holds a small-order point', ['PUBLIC_KEY_WEAK'], { ...base, [PUBLIC_KEY_FILE]: file(encodePublicKeyPem(SMALL_ORDER_KEY)) }],
    ['public-key-malformed', 'verifier-public-key.pem is not a key', ['PUBLIC_KEY_INVALID'], { ...base, [PUBLIC_KEY_FILE]: file('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n') }],
    ['public-key-crlf', 'verifier-public-key.pem with CRLF line ends (not canonical)', ['PUBLIC_KEY_INVALID'], { ...base, [PUBLIC_KEY_FILE]: file(key.publicKeyPem.replace(/\n/g, '\r\n')) }],
    ['public-key-missing', 'no verifier-public-key.pem', ['PUBLIC_KEY_MISSING'], without(base, PUBLIC_KEY_FILE)],
    // Manifest: strictness, canonical form, schema.
    ['manifest-missing', 'no manifest.json', ['MANIFEST_MISSING'], without(base, MANIFEST_FILE)],
    ['manifest-not-json', 'manifest.json is not JSON', ['MANIFEST_INVALID_JSON'], { ...base, [MANIFEST_FILE]: file('not json') }],
    ['manifest-duplicate-key', 'manifest.json repeats "mode" with another value, signed over its bytes', ['MANIFEST_DUPLICATE_KEY'], bundleWithRawManifest(happy, key, (m) => canonicalize(m).replace('"mode":"happy"', '"mode":"policy-blocked","mode":"happy"'))],
    ['manifest-pretty-printed', 'manifest.json indented, signed over its bytes', ['MANIFEST_NOT_CANONICAL'], bundleWithRawManifest(happy, key, (m) => JSON.stringify(JSON.parse(canonicalize(m)), null, 2))],
    ['manifest-trailing-newline', 'manifest.json ends with a newline, signed over its bytes', ['MANIFEST_NOT_CANONICAL'], bundleWithRawManifest(happy, key, (m) => `${canonicalize(m)}\n`)],
    ['manifest-unsorted-keys', 'manifest.json keys not in RFC 8785 order, signed over its bytes', ['MANIFEST_NOT_CANONICAL'], bundleWithRawManifest(happy, key, (m) => JSON.stringify(m))],
    ['manifest-bom', 'manifest.json starts with a byte-order mark, signed over its bytes', ['MANIFEST_INVALID_JSON'], bundleWithRawManifest(happy, key, (m) => `\uFEFF${canonicalize(m)}`)],
    ['schema-version-unsupported', 'schemaVersion 2', ['MANIFEST_SCHEMA_UNSUPPORTED'], bundle(happy, 'happy', key, (m) => ({ ...m, schemaVersion: 2 }))],
    ['schema-version-string', 'schemaVersion "1" (a string)', ['MANIFEST_SCHEMA_UNSUPPORTED'], bundle(happy, 'happy', key, (m) => ({ ...m, schemaVersion: '1' }))],
    ['bundle-kind-unsupported', 'an unknown bundleKind', ['MANIFEST_BUNDLE_KIND_UNSUPPORTED'], bundle(happy, 'happy', key, (m) => ({ ...m, bundleKind: 'lumenflow.other' }))],
    ['manifest-unknown-field', 'an extra top-level field', ['MANIFEST_SCHEMA_INVALID'], bundle(happy, 'happy', key, (m) => ({ ...m, note: 'hi' }))],
    ['mode-unknown', "mode 'sad'", ['MANIFEST_SCHEMA_INVALID'], bundle(happy, 'happy', key, (m) => ({ ...m, mode: 'sad' }))],
    ['hash-uppercase', 'an artifact sha256 in uppercase hex', ['MANIFEST_SCHEMA_INVALID'], bundle(happy, 'happy', key, (m) => ({ ...m, artifacts: m.artifacts.map((a, i) => (i === 0 ? { ...a, sha256: a.sha256.toUpperCase() } : a)) }))],
    ['hash-short', 'an artifact sha256 of 63 hex digits', ['MANIFEST_SCHEMA_INVALID'], bundle(happy, 'happy', key, (m) => ({ ...m, artifacts: m.artifacts.map((a, i) => (i === 0 ? { ...a, sha256: a.sha256.slice(1) } : a)) }))],
    ['hash-prefixed', "an artifact sha256 written as 'sha256:<hex>'", ['MANIFEST_SCHEMA_INVALID'], bundle(happy, 'happy', key, (m) => ({ ...m, artifacts: m.artifacts.map((a, i) => (i === 0 ? { ...a, sha256: `sha256:${a.sha256}` } : a)) }))],
    ['hash-wrong', 'a well-formed sha256 that is not the file’s', ['ARTIFACT_DIGEST_MISMATCH'], bundle(happy, 'happy', key, (m) => ({ ...m, artifacts: m.artifacts.map((a, i) => (i === 0 ? { ...a, sha256: 'f'.repeat(64) } : a)) }))],
    ['size-wrong', 'a size that is not the file’s', ['ARTIFACT_SIZE_MISMATCH'], bundle(happy, 'happy', key, (m) => ({ ...m, artifacts: m.artifacts.map((a, i) => (i === 0 ? { ...a, size: a.size + 1 } : a)) }))],
    ['size-negative', 'a negative size', ['MANIFEST_SCHEMA_INVALID'], bundle(happy, 'happy', key, (m) => ({ ...m, artifacts: m.artifacts.map((a, i) => (i === 0 ? { ...a, size: -1 } : a)) }))],
    // Required files.
    ['required-artifact-dropped', 'replay-link.txt removed from both lists and the folder', ['REQUIRED_ARTIFACT_UNLISTED'], bundle(without(happy, 'replay-link.txt'), 'happy', key, (m) => ({ ...m, requiredArtifacts: m.requiredArtifacts.filter((n) => n !== 'replay-link.txt') }))],
    ['required-list-shortened', 'requiredArtifacts omits approval.json though the file is listed', ['REQUIRED_ARTIFACT_UNLISTED'], bundle(happy, 'happy', key, (m) => ({ ...m, requiredArtifacts: m.requiredArtifacts.filter((n) => n !== 'approval.json') }))],
    // DSSE.
    ['dsse-missing', 'no manifest.dsse.json', ['DSSE_MISSING'], without(base, DSSE_FILE)],
    ['dsse-subject-digest-wrong', 'a DSSE subject digest differs from the manifest, re-signed', ['DSSE_SUBJECTS_MISMATCH'], { ...base, [DSSE_FILE]: dsseWithStatement({ ...statement, subject: statement.subject.map((s, i) => (i === 0 ? { ...s, digest: { sha256: 'e'.repeat(64) } } : s)) }, key) }],
    ['dsse-subject-missing', 'the DSSE statement omits manifest.json, re-signed', ['DSSE_SUBJECTS_MISMATCH'], { ...base, [DSSE_FILE]: dsseWithStatement({ ...statement, subject: statement.subject.filter((s) => s.name !== MANIFEST_FILE) }, key) }],
    ['dsse-signature-zeroed', 'the DSSE signature is 64 zero bytes', ['DSSE_SIGNATURE_INVALID'], { ...base, [DSSE_FILE]: dsseWithStatement(statement, key, new Uint8Array(64)) }],
    ['dsse-other-key', 'the DSSE envelope is signed by another key', ['DSSE_KEY_ID_MISMATCH'], { ...base, [DSSE_FILE]: dsseWithStatement(statement, other) }],
    ['dsse-not-json', 'manifest.dsse.json is not JSON', ['DSSE_INVALID'], { ...base, [DSSE_FILE]: file('{') }],
    ['dsse-subjects-unsorted', 'DSSE subjects out of name order, re-signed by the bundle key', ['DSSE_SUBJECTS_MISMATCH'], { ...base, [DSSE_FILE]: dsseWithStatement({ ...statement, subject: [...statement.subject].reverse() }, key) }],
    ['dsse-payload-not-canonical', 'the DSSE payload is indented JSON, not RFC 8785, re-signed by the bundle key', ['DSSE_INVALID'], { ...base, [DSSE_FILE]: dsseWithPayload(enc(JSON.stringify(statement, null, 2)), key) }],
    // Mode rules.
    ['mode-blocked-with-tool-call', 'policy-blocked, yet tool-calls.jsonl holds a call', ['MODE_RULE_VIOLATED'], bundle({ ...blocked, 'tool-calls.jsonl': sampleToolCall('call-0001') }, 'policy-blocked', key)],
    ['mode-blocked-without-deny', 'policy-blocked, yet no deny decision', ['MODE_RULE_VIOLATED'], bundle({ ...blocked, 'policy-decisions.jsonl': sampleDecision({ decisionId: 'dec-0001', effect: 'allow', evaluatedAt: 'cloud' }) }, 'policy-blocked', key)],
    ['mode-happy-with-cloud-deny', 'happy, yet Cloud denied', ['MODE_RULE_VIOLATED'], bundle({ ...happy, 'policy-decisions.jsonl': happy['policy-decisions.jsonl'] + sampleDecision({ decisionId: 'dec-0003', effect: 'deny', evaluatedAt: 'cloud' }) }, 'happy', key)],
    ['mode-happy-without-tool-calls', 'happy, yet no tool call ran', ['MODE_RULE_VIOLATED'], bundle({ ...happy, 'tool-calls.jsonl': '' }, 'happy', key)],
    ['jsonl-malformed-line', 'a policy decision line that is not JSON', ['MODE_RECORD_INVALID'], bundle({ ...happy, 'policy-decisions.jsonl': `${happy['policy-decisions.jsonl']}{oops\n` }, 'happy', key)],
    ['jsonl-duplicate-key', 'a tool call line with a duplicate key', ['MODE_RECORD_INVALID'], bundle({ ...happy, 'tool-calls.jsonl': sampleToolCall('call-0001').replace('{', '{"tool":"x",') }, 'happy', key)],
    ['jsonl-schema-invalid', 'a policy decision line with an unknown effect', ['MODE_RECORD_INVALID'], bundle({ ...happy, 'policy-decisions.jsonl': happy['policy-decisions.jsonl'].replace('"effect":"allow"', '"effect":"maybe"') }, 'happy', key)],
    ['jsonl-blank-line', 'a blank line between tool calls', ['MODE_RECORD_INVALID'], bundle({ ...happy, 'tool-calls.jsonl': `${sampleToolCall('call-0001')}\n${sampleToolCall('call-0002')}` }, 'happy', key)],
    // Runtime receipts: the bundle signer alone cannot make the runtime's records.
    ['runtime-tool-call-edited-resigned', 'tool-calls.jsonl edited and the whole bundle re-signed by its own signer; the runtime never signed the new record', ['RECEIPT_SIGNATURE_INVALID'], bundle({ ...happy, 'tool-calls.jsonl': happy['tool-calls.jsonl'].replace('(fix add)', '(fix add, and more)') }, 'happy', key)],
    ['runtime-tool-call-unreceipted', 'a second tool call added with no runtime receipt, re-signed by the bundle signer', ['RECEIPT_MISSING'], bundle({ ...happy, 'tool-calls.jsonl': happy['tool-calls.jsonl'] + sampleToolCall('call-0002') }, 'happy', key)],
    ['runtime-receipts-absent', 'node-session.json carries no runtime evidence', ['RECEIPTS_ABSENT'], bundle({ ...happy, 'node-session.json': editSession(happy['node-session.json'], ({ runtimeEvidence: _, ...rest }) => rest) }, 'happy', key)],
    ['runtime-key-mismatch', 'node-session.json names an enrolled key id other than the runtime key it carries', ['RUNTIME_KEY_MISMATCH'], bundle({ ...happy, 'node-session.json': happy['node-session.json'].replace(SAMPLE_RUNTIME_KEY.keyId, other.keyId) }, 'happy', key)],
    ['runtime-receipt-duplicated', 'the tool call receipt listed twice', ['RECEIPT_DUPLICATE'], bundle({ ...happy, 'node-session.json': editSession(happy['node-session.json'], (n) => ({ ...n, runtimeEvidence: { ...n.runtimeEvidence, receipts: [...n.runtimeEvidence.receipts, ...n.runtimeEvidence.receipts.filter((r) => r.type === 'evidence.tool-call')] } })) }, 'happy', key)],
    ['runtime-cloud-decision-receipted', 'a receipt for a record the bundle does not hold', ['RECEIPT_UNMATCHED'], bundle({ ...withRuntimeReceipts({ ...happy, 'tool-calls.jsonl': happy['tool-calls.jsonl'] + sampleToolCall('call-0002') }), 'tool-calls.jsonl': happy['tool-calls.jsonl'] }, 'happy', key)],
  ];

  return {
    valid,
    invalid: invalid.map(([name, comment, codes, tree, pin]) => ({
      name,
      bundle: tree,
      expected: pin === undefined ? { comment, valid: false, codes } : { comment, valid: false, codes, pin },
    })),
  };
}

// Ed25519 group order L; S + L encodes the same scalar mod L, so only a check
// that S < L (RFC 8032 §5.1.7) rejects the altered signature.
const GROUP_ORDER = 2n ** 252n + 27742317777372353535851937790883648493n;

function addGroupOrderToS(signature: Uint8Array): Uint8Array {
  const out = signature.slice();
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(out[i] ?? 0);
  s += GROUP_ORDER;
  for (let i = 32; i < 64; i++) {
    out[i] = Number(s & 0xffn);
    s >>= 8n;
  }
  return out;
}

/** Writes a tree, creating directories and symbolic links as given. */
export async function writeTree(dir: string, tree: Tree): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, entry] of Object.entries(tree).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const path = join(dir, name);
    if (entry.kind === 'file') await writeFile(path, entry.bytes);
    else if (entry.kind === 'symlink') await symlink(entry.target, path);
    else await writeTree(path, entry.entries);
  }
}

/** Writes `<root>/{valid,invalid}/<case>/{expected.json,bundle/}`. */
export async function writeVectors(root: string): Promise<number> {
  const { valid, invalid } = await buildVectors();
  for (const [group, vectors] of [['valid', valid], ['invalid', invalid]] as const) {
    for (const v of vectors) {
      const caseDir = join(root, group, v.name);
      await writeTree(join(caseDir, 'bundle'), v.bundle);
      await writeFile(join(caseDir, 'expected.json'), `${JSON.stringify(v.expected, null, 2)}\n`);
    }
  }
  return valid.length + invalid.length;
}
