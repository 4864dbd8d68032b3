import { createHash, timingSafeEqual } from 'node:crypto';
import { lstat, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Dirent } from 'node:fs';
import {
  NodeSessionSchema,
  ProtocolError,
  PolicyDecisionRecordSchema,
  Sha256DigestSchema,
  TestResultsSchema,
  ToolCallRecordSchema,
  canonicalize,
  formatIssuePath,
  parseStrictJsonBytes,
} from '@lumenflow/protocol';
import type { JsonValue } from '@lumenflow/protocol';
import {
  BUNDLE_KIND,
  BUNDLE_METADATA_FILES,
  BUNDLE_SCHEMA_VERSION,
  DSSE_FILE,
  DSSE_PAYLOAD_TYPE,
  IN_TOTO_STATEMENT_TYPE,
  MANIFEST_FILE,
  PREDICATE_TYPE,
  PUBLIC_KEY_FILE,
  REQUIRED_ARTIFACTS,
  SIGNATURE_FILE,
} from './constants.js';
import { decodeCanonicalBase64, encodeDssePae } from './dsse.js';
import { VerifierError } from './errors.js';
import { hashFile } from './hash-file.js';
import { readFileCapped } from './read-capped.js';
import { JsonlReader } from './jsonl.js';
import { computeDsseKeyId, computeKeyId, encodePublicKeyDer, isCanonicalPublicKeyPem, parsePublicKeyPem, verifyEd25519 } from './keys.js';
import { DsseEnvelopeSchema, InTotoStatementSchema, ManifestSchema, isPlainFileName } from './manifest-schema.js';
import type { Manifest } from './manifest-schema.js';
import { createRuntimeReceiptChecker } from './runtime-receipts.js';
import type { RuntimeReceiptChecker } from './runtime-receipts.js';

/** Every check the verifier reports, in report order. */
export const CHECK_NAMES = [
  'bundle.entries',
  'bundle.regular-files',
  'manifest.strict-json',
  'manifest.canonical',
  'manifest.schema',
  'public-key.valid',
  'signature.valid',
  'signer.key-id',
  'signer.trusted',
  'dsse.envelope',
  'artifacts.paths',
  'artifacts.required',
  'artifacts.digests',
  'mode.rules',
  'runtime.receipts',
] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

/** Stable codes a failing (or, for SIGNER_NOT_PINNED, noteworthy) check carries. */
export type CheckCode =
  | 'UNEXPECTED_ENTRY'
  | 'NOT_REGULAR_FILE'
  | 'MANIFEST_MISSING'
  | 'MANIFEST_TOO_LARGE'
  | 'MANIFEST_UNREADABLE'
  | 'MANIFEST_DUPLICATE_KEY'
  | 'MANIFEST_INVALID_JSON'
  | 'MANIFEST_NOT_CANONICAL'
  | 'MANIFEST_SCHEMA_UNSUPPORTED'
  | 'MANIFEST_BUNDLE_KIND_UNSUPPORTED'
  | 'MANIFEST_SCHEMA_INVALID'
  | 'PUBLIC_KEY_MISSING'
  | 'PUBLIC_KEY_INVALID'
  | 'PUBLIC_KEY_WEAK'
  | 'SIGNATURE_MISSING'
  | 'SIGNATURE_MALFORMED'
  | 'SIGNATURE_INVALID'
  | 'KEY_ID_MISMATCH'
  | 'SIGNER_UNTRUSTED'
  | 'SIGNER_NOT_PINNED'
  | 'DSSE_MISSING'
  | 'DSSE_INVALID'
  | 'DSSE_SIGNATURE_INVALID'
  | 'DSSE_KEY_ID_MISMATCH'
  | 'DSSE_SUBJECTS_MISMATCH'
  | 'ARTIFACT_PATH_INVALID'
  | 'ARTIFACT_DUPLICATE'
  | 'REQUIRED_ARTIFACT_UNLISTED'
  | 'ARTIFACT_MISSING'
  | 'ARTIFACT_UNREADABLE'
  | 'ARTIFACT_SIZE_MISMATCH'
  | 'ARTIFACT_DIGEST_MISMATCH'
  | 'MODE_RECORD_INVALID'
  | 'MODE_RULE_VIOLATED'
  | 'RECEIPTS_ABSENT'
  | 'RUNTIME_EVIDENCE_INVALID'
  | 'RUNTIME_KEY_INVALID'
  | 'RUNTIME_KEY_MISMATCH'
  | 'RECEIPT_MISSING'
  | 'RECEIPT_DUPLICATE'
  | 'RECEIPT_UNMATCHED'
  | 'RECEIPT_SIGNATURE_INVALID'
  | 'CHECK_SKIPPED';

export interface VerificationCheck {
  name: string;
  ok: boolean;
  code?: string;
  detail?: string;
}

/** The outcome of {@link verifyBundle}: each check by name, and `valid` only when all pass. */
export interface VerificationReport {
  valid: boolean;
  dir: string;
  runId?: string;
  mode?: string;
  keyId?: string;
  /**
   * Lowercase hex SHA-256 of the manifest.json bytes these checks judged, when it
   * could be read. A consumer that reads the bundle again (replay) compares it to
   * bind what it shows to what was verified.
   */
  manifestSha256?: string;
  signerPinned: boolean;
  checks: VerificationCheck[];
}

export interface VerifyBundleOptions {
  /** SPKI PEM of the key the bundle must be signed by. */
  trustedPublicKeyPem?: string | undefined;
  /** `sha256:<hex>` key id the bundle's signer must have. */
  expectKeyId?: string | undefined;
}

// Metadata files are small by construction; caps keep a hostile bundle from
// making the verifier allocate without bound.
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_DSSE_BYTES = 8 * 1024 * 1024;
const MAX_PEM_BYTES = 16 * 1024;
const MAX_SIG_BYTES = 1024;
const MAX_ENTRIES = 10_000;
const MAX_LISTED = 10;
const HASH_BUFFER_BYTES = 2 * 1024 * 1024;
const DECISIONS_FILE = 'policy-decisions.jsonl';
const TOOL_CALLS_FILE = 'tool-calls.jsonl';
const NODE_SESSION_FILE = 'node-session.json';
const TEST_RESULTS_FILE = 'test-results.json';
const DIFF_FILE = 'file-diff.patch';
// The runtime signs the whole diff and test results as one message each, so
// they are held whole to check; the caps bound what a hostile bundle can make us hold.
const MAX_NODE_SESSION_BYTES = 16 * 1024 * 1024;
const MAX_TEST_RESULTS_BYTES = 4 * 1024 * 1024;
const MAX_DIFF_BYTES = 64 * 1024 * 1024;

/**
 * Verifies an evidence bundle directory offline: strict canonical manifest,
 * supported schema, RFC 8032 signature, key id, optional signer pin, DSSE
 * envelope, required artifacts, sizes and SHA-256 digests (one streaming pass
 * per file, constant memory), no unaccounted entries, and the mode's rules.
 * Bad evidence is reported in the checks, never thrown.
 *
 * @throws {VerifierError} BUNDLE_NOT_FOUND, BUNDLE_NOT_DIRECTORY or BUNDLE_UNREADABLE
 *   when `dir` cannot be read as a directory; TRUSTED_KEY_INVALID (malformed or small-order) or
 *   EXPECTED_KEY_ID_INVALID when a pin given in `opts` is itself malformed.
 */
export async function verifyBundle(dir: string, opts: VerifyBundleOptions = {}): Promise<VerificationReport> {
  const pin = parsePins(opts);
  const root = resolve(dir);
  const entries = await listBundle(root);
  const checks = new Map<CheckName, VerificationCheck>();
  const pass = (name: CheckName, detail?: string): void => {
    checks.set(name, detail === undefined ? { name, ok: true } : { name, ok: true, detail });
  };
  const fail = (name: CheckName, code: CheckCode, detail: string): void => {
    if (!checks.has(name)) checks.set(name, { name, ok: false, code, detail });
  };
  const report: { runId?: string; mode?: string; keyId?: string; manifestSha256?: string } = {};

  // Entry kinds, from lstat: a link is judged as a link, never as its target.
  const notRegular = entries.filter((e) => !e.isFile()).map((e) => `${e.name} (${describeEntry(e)})`);
  if (notRegular.length > 0) fail('bundle.regular-files', 'NOT_REGULAR_FILE', `not regular files: ${listNames(notRegular)}`);
  else pass('bundle.regular-files');

  // --- manifest.json: strict, canonical, supported schema.
  let manifest: Manifest | undefined;
  let manifestBytes: Uint8Array | undefined;
  const manifestRead = await readFileCapped(join(root, MANIFEST_FILE), MAX_MANIFEST_BYTES);
  if (!manifestRead.ok) {
    const code = manifestRead.reason === 'missing' ? 'MANIFEST_MISSING' : manifestRead.reason === 'too-large' ? 'MANIFEST_TOO_LARGE' : 'MANIFEST_UNREADABLE';
    fail('manifest.strict-json', code, `${MANIFEST_FILE}: ${manifestRead.detail}`);
  } else {
    manifestBytes = manifestRead.bytes;
    report.manifestSha256 = createHash('sha256').update(manifestBytes).digest('hex');
    let parsed: JsonValue | undefined;
    try {
      parsed = parseStrictJsonBytes(manifestBytes);
      pass('manifest.strict-json');
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      fail('manifest.strict-json', error.code === 'JSON_DUPLICATE_KEY' ? 'MANIFEST_DUPLICATE_KEY' : 'MANIFEST_INVALID_JSON', `${MANIFEST_FILE}: ${error.message}`);
    }
    if (parsed !== undefined) {
      if (isCanonicalJson(manifestBytes, parsed)) pass('manifest.canonical');
      else fail('manifest.canonical', 'MANIFEST_NOT_CANONICAL', `${MANIFEST_FILE} is not RFC 8785 canonical JSON (UTF-8, no BOM, no trailing newline)`);
      manifest = checkManifestSchema(parsed, fail, pass);
    }
  }
  if (manifest) {
    report.runId = manifest.runId;
    report.mode = manifest.mode;
  }

  // --- Accounting: every entry is a metadata file or a listed artifact.
  const accounted = new Set<string>([...BUNDLE_METADATA_FILES, ...(manifest ? manifest.artifacts.map((a) => a.path) : REQUIRED_ARTIFACTS)]);
  const unexpected = entries.map((e) => e.name).filter((name) => !accounted.has(name));
  if (unexpected.length > 0) fail('bundle.entries', 'UNEXPECTED_ENTRY', `not accounted for by the bundle: ${listNames(unexpected)}`);
  else pass('bundle.entries');

  // --- Public key, signature, key id, trust.
  let bundleKey: Uint8Array | undefined;
  let bundleKeyId: string | undefined;
  const pemRead = await readFileCapped(join(root, PUBLIC_KEY_FILE), MAX_PEM_BYTES);
  if (!pemRead.ok) {
    fail('public-key.valid', pemRead.reason === 'missing' ? 'PUBLIC_KEY_MISSING' : 'PUBLIC_KEY_INVALID', `${PUBLIC_KEY_FILE}: ${pemRead.detail}`);
  } else {
    const text = Buffer.from(pemRead.bytes).toString('utf8');
    try {
      const key = parsePublicKeyPem(text);
      if (!isCanonicalPublicKeyPem(text, key)) {
        fail('public-key.valid', 'PUBLIC_KEY_INVALID', `${PUBLIC_KEY_FILE} is not in canonical SPKI PEM form`);
      } else {
        bundleKey = key;
        bundleKeyId = computeKeyId(encodePublicKeyDer(key));
        report.keyId = bundleKeyId;
        pass('public-key.valid', bundleKeyId);
      }
    } catch (error) {
      if (!(error instanceof VerifierError)) throw error;
      fail('public-key.valid', error.code === 'PUBLIC_KEY_WEAK' ? 'PUBLIC_KEY_WEAK' : 'PUBLIC_KEY_INVALID', `${PUBLIC_KEY_FILE}: ${error.message}`);
    }
  }

  const sigRead = await readFileCapped(join(root, SIGNATURE_FILE), MAX_SIG_BYTES);
  if (!sigRead.ok) {
    fail('signature.valid', sigRead.reason === 'missing' ? 'SIGNATURE_MISSING' : 'SIGNATURE_MALFORMED', `${SIGNATURE_FILE}: ${sigRead.detail}`);
  } else if (sigRead.bytes.length !== 64) {
    fail('signature.valid', 'SIGNATURE_MALFORMED', `${SIGNATURE_FILE} holds ${sigRead.bytes.length} bytes; a raw Ed25519 signature is 64`);
  } else if (!manifestBytes || !bundleKey) {
    skip(checks, 'signature.valid', `needs ${!manifestBytes ? MANIFEST_FILE : 'a valid public key'}`);
  } else if (verifyEd25519(sigRead.bytes, manifestBytes, bundleKey)) {
    pass('signature.valid', 'Ed25519 (RFC 8032, strict) over the exact bytes of manifest.json');
  } else {
    fail('signature.valid', 'SIGNATURE_INVALID', `${SIGNATURE_FILE} does not verify over ${MANIFEST_FILE} with ${PUBLIC_KEY_FILE}`);
  }

  if (!manifest || !bundleKeyId) skip(checks, 'signer.key-id', `needs ${!manifest ? 'a valid manifest' : 'a valid public key'}`);
  else if (manifest.signer.keyId === bundleKeyId) pass('signer.key-id');
  else fail('signer.key-id', 'KEY_ID_MISMATCH', `manifest names signer ${manifest.signer.keyId}, but ${PUBLIC_KEY_FILE} is ${bundleKeyId}`);

  if (!pin.pinned) {
    // The PEM in the bundle is attacker-controlled: without a pin, a re-signed bundle passes.
    checks.set('signer.trusted', {
      name: 'signer.trusted',
      ok: true,
      code: 'SIGNER_NOT_PINNED',
      detail: 'signer is NOT pinned: the bundle only agrees with itself; pass --trusted-key or --expect-key-id to trust a signer',
    });
  } else if (!bundleKey || !bundleKeyId) {
    fail('signer.trusted', 'SIGNER_UNTRUSTED', 'no valid public key in the bundle to compare with the pinned signer');
  } else {
    const mismatches: string[] = [];
    if (pin.keyId !== undefined && pin.keyId !== bundleKeyId) mismatches.push(`expected key id ${pin.keyId}`);
    if (pin.publicKey !== undefined && !timingSafeEqual(pin.publicKey, bundleKey)) mismatches.push('the trusted key differs');
    if (mismatches.length > 0) fail('signer.trusted', 'SIGNER_UNTRUSTED', `signer ${bundleKeyId} is not the pinned signer: ${mismatches.join('; ')}`);
    else pass('signer.trusted', `signer pinned: ${bundleKeyId}`);
  }

  // --- DSSE envelope.
  if (manifest && report.manifestSha256 !== undefined && bundleKey && bundleKeyId) {
    await checkDsse(root, manifest, report.manifestSha256, bundleKey, bundleKeyId, fail, pass);
  } else {
    const dsseRead = await readFileCapped(join(root, DSSE_FILE), MAX_DSSE_BYTES);
    if (!dsseRead.ok && dsseRead.reason === 'missing') fail('dsse.envelope', 'DSSE_MISSING', `${DSSE_FILE}: no such file`);
    else skip(checks, 'dsse.envelope', 'needs a valid manifest and public key');
  }

  // --- Artifacts.
  if (!manifest) {
    for (const name of ['artifacts.paths', 'artifacts.required', 'artifacts.digests', 'mode.rules', 'runtime.receipts'] as const) {
      skip(checks, name, 'needs a valid manifest');
    }
  } else {
    await checkArtifacts(root, manifest, fail, pass);
  }

  const ordered = CHECK_NAMES.map((name) => checks.get(name) ?? { name, ok: false, code: 'CHECK_SKIPPED', detail: 'not run' });
  // Field order is fixed so that --json output reads the same for every bundle.
  return {
    valid: ordered.every((c) => c.ok),
    dir: root,
    ...(report.runId !== undefined && { runId: report.runId }),
    ...(report.mode !== undefined && { mode: report.mode }),
    ...(report.keyId !== undefined && { keyId: report.keyId }),
    ...(report.manifestSha256 !== undefined && { manifestSha256: report.manifestSha256 }),
    signerPinned: pin.pinned,
    checks: ordered,
  };
}

type Fail = (name: CheckName, code: CheckCode, detail: string) => void;
type Pass = (name: CheckName, detail?: string) => void;

function skip(checks: Map<CheckName, VerificationCheck>, name: CheckName, why: string): void {
  if (!checks.has(name)) checks.set(name, { name, ok: false, code: 'CHECK_SKIPPED', detail: `not run: ${why}` });
}

function parsePins(opts: VerifyBundleOptions): { pinned: boolean; publicKey?: Uint8Array; keyId?: string } {
  const out: { pinned: boolean; publicKey?: Uint8Array; keyId?: string } = { pinned: false };
  if (opts.trustedPublicKeyPem !== undefined) {
    try {
      out.publicKey = parsePublicKeyPem(opts.trustedPublicKeyPem);
    } catch (cause) {
      if (!(cause instanceof VerifierError)) throw cause;
      throw new VerifierError('TRUSTED_KEY_INVALID', `trusted key is unusable: ${cause.message}`, { cause });
    }
    out.pinned = true;
  }
  if (opts.expectKeyId !== undefined) {
    if (!Sha256DigestSchema.safeParse(opts.expectKeyId).success) {
      throw new VerifierError('EXPECTED_KEY_ID_INVALID', 'expected key id must be sha256:<64 lowercase hex>');
    }
    out.keyId = opts.expectKeyId;
    out.pinned = true;
  }
  return out;
}

async function listBundle(root: string): Promise<Dirent[]> {
  let stat;
  try {
    stat = await lstat(root);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new VerifierError('BUNDLE_NOT_FOUND', `bundle directory ${root} does not exist`, { cause });
    throw new VerifierError('BUNDLE_UNREADABLE', `cannot inspect ${root} (${code ?? 'error'})`, { cause });
  }
  if (!stat.isDirectory()) {
    const what = stat.isSymbolicLink() ? 'a symbolic link' : 'not a directory';
    throw new VerifierError('BUNDLE_NOT_DIRECTORY', `${root} is ${what}`);
  }
  try {
    const entries = await readdir(root, { withFileTypes: true });
    return entries.length > MAX_ENTRIES ? entries.slice(0, MAX_ENTRIES + 1) : entries;
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new VerifierError('BUNDLE_UNREADABLE', `cannot list ${root} (${code ?? 'error'})`, { cause });
  }
}

function checkManifestSchema(parsed: JsonValue, fail: Fail, pass: Pass): Manifest | undefined {
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    fail('manifest.schema', 'MANIFEST_SCHEMA_INVALID', `${MANIFEST_FILE} is not a JSON object`);
    return undefined;
  }
  if (parsed['schemaVersion'] !== BUNDLE_SCHEMA_VERSION) {
    fail('manifest.schema', 'MANIFEST_SCHEMA_UNSUPPORTED', `schemaVersion ${JSON.stringify(parsed['schemaVersion'] ?? null)} is not supported; this verifier reads 1`);
    return undefined;
  }
  if (parsed['bundleKind'] !== BUNDLE_KIND) {
    fail('manifest.schema', 'MANIFEST_BUNDLE_KIND_UNSUPPORTED', `bundleKind ${JSON.stringify(parsed['bundleKind'] ?? null)} is not ${BUNDLE_KIND}`);
    return undefined;
  }
  const result = ManifestSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    fail('manifest.schema', 'MANIFEST_SCHEMA_INVALID', `${formatIssuePath(issue?.path ?? [])}: ${issue?.message ?? 'invalid'}`);
    return undefined;
  }
  pass('manifest.schema', `schemaVersion 1, ${BUNDLE_KIND}`);
  return result.data;
}

async function checkDsse(root: string, manifest: Manifest, manifestSha256: string, key: Uint8Array, keyId: string, fail: Fail, pass: Pass): Promise<void> {
  const read = await readFileCapped(join(root, DSSE_FILE), MAX_DSSE_BYTES);
  if (!read.ok) {
    fail('dsse.envelope', read.reason === 'missing' ? 'DSSE_MISSING' : 'DSSE_INVALID', `${DSSE_FILE}: ${read.detail}`);
    return;
  }
  let envelopeJson: JsonValue;
  try {
    envelopeJson = parseStrictJsonBytes(read.bytes);
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    fail('dsse.envelope', 'DSSE_INVALID', `${DSSE_FILE}: ${error.message}`);
    return;
  }
  if (!isCanonicalJson(read.bytes, envelopeJson)) {
    fail('dsse.envelope', 'DSSE_INVALID', `${DSSE_FILE} is not RFC 8785 canonical JSON`);
    return;
  }
  const envelope = DsseEnvelopeSchema.safeParse(envelopeJson);
  if (!envelope.success) {
    fail('dsse.envelope', 'DSSE_INVALID', `${DSSE_FILE}: ${formatIssuePath(envelope.error.issues[0]?.path ?? [])}: ${envelope.error.issues[0]?.message ?? 'invalid'}`);
    return;
  }
  const { payloadType, payload, signatures } = envelope.data;
  const signature = signatures[0];
  const payloadBytes = decodeCanonicalBase64(payload);
  const sigBytes = signature ? decodeCanonicalBase64(signature.sig) : undefined;
  if (payloadType !== DSSE_PAYLOAD_TYPE || !payloadBytes || !sigBytes || !signature) {
    fail('dsse.envelope', 'DSSE_INVALID', `${DSSE_FILE}: payloadType must be ${DSSE_PAYLOAD_TYPE} and payload/sig canonical base64`);
    return;
  }
  // keyid is an unsigned hint, but it must name the signer: as bare hex (written since
  // ADR 0026), or with the sha256: prefix that bundles written before carry.
  if (signature.keyid !== computeDsseKeyId(keyId) && signature.keyid !== keyId) {
    fail('dsse.envelope', 'DSSE_KEY_ID_MISMATCH', `${DSSE_FILE}: keyid ${signature.keyid} is not the bundle signer ${computeDsseKeyId(keyId)}`);
    return;
  }
  if (!verifyEd25519(sigBytes, encodeDssePae(payloadType, payloadBytes), key)) {
    fail('dsse.envelope', 'DSSE_SIGNATURE_INVALID', `${DSSE_FILE}: signature does not verify over the DSSE PAE with ${PUBLIC_KEY_FILE}`);
    return;
  }
  let statementJson: JsonValue;
  try {
    statementJson = parseStrictJsonBytes(payloadBytes);
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    fail('dsse.envelope', 'DSSE_INVALID', `${DSSE_FILE} payload: ${error.message}`);
    return;
  }
  // One statement has one signed spelling (RFC 8785), as the manifest does: a
  // second spelling of the same claims is a second document to reason about.
  if (!isCanonicalJson(payloadBytes, statementJson)) {
    fail('dsse.envelope', 'DSSE_INVALID', `${DSSE_FILE} payload is not RFC 8785 canonical JSON`);
    return;
  }
  const statement = InTotoStatementSchema.safeParse(statementJson);
  if (!statement.success || statement.data._type !== IN_TOTO_STATEMENT_TYPE || statement.data.predicateType !== PREDICATE_TYPE) {
    fail('dsse.envelope', 'DSSE_INVALID', `${DSSE_FILE} payload is not an in-toto Statement v1 with predicateType ${PREDICATE_TYPE}`);
    return;
  }
  // The statement must say exactly what the manifest says: every artifact and
  // the manifest itself, no more, no less, with the same digests.
  const expected = new Map<string, string>(manifest.artifacts.map((a) => [a.path, a.sha256]));
  expected.set(MANIFEST_FILE, manifestSha256);
  const seen = new Set<string>();
  const problems: string[] = [];
  let previous: string | undefined;
  for (const s of statement.data.subject) {
    if (previous !== undefined && previous > s.name) problems.push(`subjects are not sorted by name at ${s.name}`);
    previous = s.name;
    if (seen.has(s.name)) problems.push(`${s.name} listed twice`);
    seen.add(s.name);
    const want = expected.get(s.name);
    if (want === undefined) problems.push(`${s.name} is not in the manifest`);
    else if (!hexEqual(want, s.digest.sha256)) problems.push(`${s.name} digest differs`);
  }
  for (const name of expected.keys()) if (!seen.has(name)) problems.push(`${name} missing`);
  const p = statement.data.predicate;
  if (p.bundleKind !== manifest.bundleKind || p.runId !== manifest.runId || p.mode !== manifest.mode || p.createdAt !== manifest.createdAt) {
    problems.push('predicate differs from the manifest');
  }
  if (problems.length > 0) {
    fail('dsse.envelope', 'DSSE_SUBJECTS_MISMATCH', `${DSSE_FILE}: ${listNames(problems)}`);
    return;
  }
  pass('dsse.envelope', `in-toto Statement v1, ${statement.data.subject.length} subjects`);
}

async function checkArtifacts(root: string, manifest: Manifest, fail: Fail, pass: Pass): Promise<void> {
  // Paths: plain names, unique, not a metadata name.
  const badPaths: string[] = [];
  const duplicates: string[] = [];
  const seen = new Set<string>();
  for (const a of manifest.artifacts) {
    if (!isPlainFileName(a.path) || BUNDLE_METADATA_FILES.includes(a.path)) badPaths.push(JSON.stringify(a.path));
    else if (seen.has(a.path)) duplicates.push(a.path);
    seen.add(a.path);
  }
  for (const name of manifest.requiredArtifacts) if (!isPlainFileName(name)) badPaths.push(JSON.stringify(name));
  if (badPaths.length > 0) fail('artifacts.paths', 'ARTIFACT_PATH_INVALID', `not plain file names: ${listNames(badPaths)}`);
  else if (duplicates.length > 0) fail('artifacts.paths', 'ARTIFACT_DUPLICATE', `listed more than once: ${listNames(duplicates)}`);
  else pass('artifacts.paths');

  // Required: the verifier's own list holds whatever the manifest claims.
  const unlisted = [...new Set([...REQUIRED_ARTIFACTS, ...manifest.requiredArtifacts])].filter(
    (name) => !seen.has(name) || !manifest.requiredArtifacts.includes(name),
  );

  // Digests: one streaming pass per safe, listed file; the JSONL proof files are
  // parsed from the same chunks that are hashed.
  const facts = { deny: false, cloudDeny: false };
  // node-session.json is hashed first (below), so its receipts are known before any record streams past.
  const runtime: { checker?: RuntimeReceiptChecker; problem: { code: CheckCode; detail: string } } = {
    problem: { code: 'RUNTIME_EVIDENCE_INVALID', detail: `${NODE_SESSION_FILE} was not read` },
  };
  const decisions = JsonlReader.withSchema(DECISIONS_FILE, PolicyDecisionRecordSchema, (r) => {
    if (r.effect === 'deny') {
      facts.deny = true;
      if (r.evaluatedAt === 'cloud') facts.cloudDeny = true;
    }
    runtime.checker?.addDecision(r);
  });
  const toolCalls = JsonlReader.withSchema(TOOL_CALLS_FILE, ToolCallRecordSchema, (r) => runtime.checker?.addToolCall(r));
  const held = new Map<string, HeldBytes>([
    [NODE_SESSION_FILE, new HeldBytes(MAX_NODE_SESSION_BYTES)],
    [TEST_RESULTS_FILE, new HeldBytes(MAX_TEST_RESULTS_BYTES)],
    [DIFF_FILE, new HeldBytes(MAX_DIFF_BYTES)],
  ]);
  const readers = new Map<string, JsonlReader>([
    [DECISIONS_FILE, decisions],
    [TOOL_CALLS_FILE, toolCalls],
  ]);
  const missing: string[] = [];
  const unreadable: string[] = [];
  const sizeMismatch: string[] = [];
  const digestMismatch: string[] = [];
  const hashed = new Set<string>();
  const buffer = Buffer.allocUnsafe(HASH_BUFFER_BYTES);
  const order = [...manifest.artifacts].sort((x, y) => Number(y.path === NODE_SESSION_FILE) - Number(x.path === NODE_SESSION_FILE));
  for (const a of order) {
    if (!isPlainFileName(a.path) || BUNDLE_METADATA_FILES.includes(a.path) || hashed.has(a.path)) continue;
    hashed.add(a.path);
    const reader = readers.get(a.path);
    const hold = held.get(a.path);
    // A file the manifest already lists as past the cap is never held at all: memory stays flat for it.
    if (hold !== undefined && a.size > hold.cap) hold.overflow = true;
    const result = await hashFile(
      join(root, a.path),
      reader || hold
        ? (chunk) => {
            reader?.push(chunk);
            hold?.push(chunk);
          }
        : undefined,
      buffer,
    );
    if (a.path === NODE_SESSION_FILE && result.ok) readRuntimeEvidence(hold?.bytes(), runtime);
    if (!result.ok) {
      if (result.reason === 'missing') missing.push(a.path);
      else unreadable.push(`${a.path} (${result.detail})`);
      continue;
    }
    reader?.end();
    if (result.file.size !== a.size) sizeMismatch.push(`${a.path} (${result.file.size} bytes, manifest says ${a.size})`);
    if (!hexEqual(a.sha256, result.file.sha256.toString('hex'))) digestMismatch.push(a.path);
  }

  if (unlisted.length > 0) fail('artifacts.required', 'REQUIRED_ARTIFACT_UNLISTED', `required but not listed in the manifest: ${listNames(unlisted)}`);
  else if (missing.length > 0) fail('artifacts.required', 'ARTIFACT_MISSING', `listed but absent: ${listNames(missing)}`);
  else pass('artifacts.required', `${REQUIRED_ARTIFACTS.length} required files present`);

  if (unreadable.length > 0) fail('artifacts.digests', 'ARTIFACT_UNREADABLE', `cannot hash: ${listNames(unreadable)}`);
  else if (sizeMismatch.length > 0) fail('artifacts.digests', 'ARTIFACT_SIZE_MISMATCH', `size differs: ${listNames(sizeMismatch)}`);
  else if (digestMismatch.length > 0) fail('artifacts.digests', 'ARTIFACT_DIGEST_MISMATCH', `SHA-256 differs: ${listNames(digestMismatch)}`);
  else if (missing.length > 0) fail('artifacts.digests', 'ARTIFACT_MISSING', `cannot hash absent files: ${listNames(missing)}`);
  else pass('artifacts.digests', `${hashed.size} files, SHA-256 and size match`);

  checkModeRules(manifest.mode, decisions, toolCalls, facts, fail, pass);
  checkRuntimeReceipts(runtime, decisions, toolCalls, held, fail, pass);
}

/** Bytes of one file, kept from the chunks being hashed so the bytes judged are the bytes hashed. */
class HeldBytes {
  private parts: Buffer[] = [];
  private size = 0;
  overflow = false;
  constructor(readonly cap: number) {}
  push(chunk: Uint8Array): void {
    if (this.overflow) return;
    this.size += chunk.length;
    if (this.size > this.cap) {
      this.overflow = true;
      this.parts = [];
      return;
    }
    this.parts.push(Buffer.from(chunk));
  }
  bytes(): Buffer | undefined {
    return this.overflow ? undefined : Buffer.concat(this.parts);
  }
}

function parseHeldJson(bytes: Buffer | undefined, name: string): { ok: true; value: JsonValue } | { ok: false; detail: string } {
  if (bytes === undefined) return { ok: false, detail: `${name} is too large to check` };
  try {
    return { ok: true, value: parseStrictJsonBytes(bytes) };
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    return { ok: false, detail: `${name}: ${error.code}` };
  }
}

function readRuntimeEvidence(bytes: Buffer | undefined, runtime: { checker?: RuntimeReceiptChecker; problem: { code: CheckCode; detail: string } }): void {
  const json = parseHeldJson(bytes, NODE_SESSION_FILE);
  if (!json.ok) {
    runtime.problem = { code: 'RUNTIME_EVIDENCE_INVALID', detail: json.detail };
    return;
  }
  const value = json.value;
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && !('runtimeEvidence' in value)) {
    runtime.problem = { code: 'RECEIPTS_ABSENT', detail: `${NODE_SESSION_FILE} carries no runtime key or receipts` };
    return;
  }
  const session = NodeSessionSchema.safeParse(value);
  if (!session.success) {
    const issue = session.error.issues[0];
    runtime.problem = { code: 'RUNTIME_EVIDENCE_INVALID', detail: `${NODE_SESSION_FILE}: ${formatIssuePath(issue?.path ?? [])}: ${issue?.message ?? 'invalid'}` };
    return;
  }
  runtime.checker = createRuntimeReceiptChecker(session.data);
}

function checkRuntimeReceipts(
  runtime: { checker?: RuntimeReceiptChecker; problem: { code: CheckCode; detail: string } },
  decisions: JsonlReader,
  toolCalls: JsonlReader,
  held: Map<string, HeldBytes>,
  fail: Fail,
  pass: Pass,
): void {
  for (const reader of [decisions, toolCalls]) {
    // Records past a bad line were never fed to the checker; judging the rest would blame the wrong thing.
    if (!reader.done || reader.error) {
      fail('runtime.receipts', 'CHECK_SKIPPED', `not run: ${reader.fileName} could not be read in full`);
      return;
    }
  }
  if (runtime.checker === undefined) {
    fail('runtime.receipts', runtime.problem.code, runtime.problem.detail);
    return;
  }
  const tests = parseHeldJson(held.get(TEST_RESULTS_FILE)?.bytes(), TEST_RESULTS_FILE);
  const testResults = tests.ok ? TestResultsSchema.safeParse(tests.value) : undefined;
  if (!tests.ok || !testResults?.success) {
    fail('runtime.receipts', 'RUNTIME_EVIDENCE_INVALID', tests.ok ? `${TEST_RESULTS_FILE} does not match its schema` : tests.detail);
    return;
  }
  const diffBytes = held.get(DIFF_FILE)?.bytes();
  let patch: string;
  try {
    if (diffBytes === undefined) throw new RangeError('too large');
    patch = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(diffBytes);
  } catch {
    fail('runtime.receipts', 'RUNTIME_EVIDENCE_INVALID', `${DIFF_FILE} is not UTF-8 text of at most ${MAX_DIFF_BYTES} bytes`);
    return;
  }
  const report = runtime.checker.finish({ testResults: testResults.data, patch });
  const first = report.problems[0];
  if (report.ok || first === undefined) {
    pass('runtime.receipts', `${report.verified} records signed by runtime key ${report.runtimeKeyId ?? '?'}`);
    return;
  }
  const listed = report.problems.map((p) => (p.subject === undefined ? p.code : `${p.code} ${p.subject}`));
  const more = report.problemCount > listed.length ? ` and ${report.problemCount - listed.length} more` : '';
  fail('runtime.receipts', first.code, `runtime evidence does not hold: ${listNames(listed)}${more}`);
}

function checkModeRules(
  mode: Manifest['mode'],
  decisions: JsonlReader,
  toolCalls: JsonlReader,
  facts: { deny: boolean; cloudDeny: boolean },
  fail: Fail,
  pass: Pass,
): void {
  for (const reader of [decisions, toolCalls]) {
    if (!reader.done) {
      fail('mode.rules', 'CHECK_SKIPPED', `not run: ${reader.fileName} could not be read`);
      return;
    }
    if (reader.error) {
      fail('mode.rules', 'MODE_RECORD_INVALID', reader.error);
      return;
    }
  }
  const { deny, cloudDeny } = facts;
  if (mode === 'policy-blocked') {
    if (toolCalls.bytes !== 0) fail('mode.rules', 'MODE_RULE_VIOLATED', `policy-blocked: ${TOOL_CALLS_FILE} must be empty (0 bytes)`);
    else if (!deny) fail('mode.rules', 'MODE_RULE_VIOLATED', `policy-blocked: ${DECISIONS_FILE} holds no deny decision`);
    else pass('mode.rules', 'policy-blocked: no tool call ran, and a deny decision is recorded');
    return;
  }
  if (toolCalls.lines === 0) fail('mode.rules', 'MODE_RULE_VIOLATED', `happy: ${TOOL_CALLS_FILE} holds no tool call`);
  else if (cloudDeny) fail('mode.rules', 'MODE_RULE_VIOLATED', `happy: ${DECISIONS_FILE} holds a Cloud deny decision`);
  else pass('mode.rules', `happy: ${toolCalls.lines} tool calls, no Cloud deny`);
}

/** True when `bytes` are exactly the RFC 8785 form of the value parsed from them. */
function isCanonicalJson(bytes: Uint8Array, parsed: JsonValue): boolean {
  return Buffer.from(bytes).equals(Buffer.from(canonicalize(parsed), 'utf8'));
}

function hexEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

function describeEntry(e: Dirent): string {
  if (e.isSymbolicLink()) return 'symbolic link';
  if (e.isDirectory()) return 'directory';
  if (e.isFIFO()) return 'fifo';
  if (e.isSocket()) return 'socket';
  return 'special file';
}

function listNames(names: readonly string[]): string {
  const shown = names.slice(0, MAX_LISTED).join(', ');
  return names.length > MAX_LISTED ? `${shown} and ${names.length - MAX_LISTED} more` : shown;
}
