// The one streaming pass over the listed artifacts that the artifact, mode-rule and
// receipt checks all judge: each file is hashed once, and the proof files are parsed
// (JSONL) or held (capped) from the same chunks that are hashed, so the bytes
// judged are the bytes hashed.
import { join } from 'node:path';
import { NodeSessionSchema, PolicyDecisionRecordSchema, ProtocolError, ToolCallRecordSchema, formatIssuePath, parseStrictJsonBytes } from '@lumenflow/protocol';
import type { JsonValue } from '@lumenflow/protocol';
import { BUNDLE_METADATA_FILES } from '../constants.js';
import { hashFile } from '../hash-file.js';
import { JsonlReader } from '../jsonl.js';
import { isPlainFileName } from '../manifest-schema.js';
import type { Manifest } from '../manifest-schema.js';
import { createRuntimeReceiptChecker } from '../runtime-receipts.js';
import type { RuntimeReceiptChecker } from '../runtime-receipts.js';
import { hexEqual } from './shared.js';
import type { BundleContext, CheckCode } from './types.js';

export const DECISIONS_FILE = 'policy-decisions.jsonl';
export const TOOL_CALLS_FILE = 'tool-calls.jsonl';
export const NODE_SESSION_FILE = 'node-session.json';
export const TEST_RESULTS_FILE = 'test-results.json';
export const DIFF_FILE = 'file-diff.patch';
// The runtime signs the whole diff and test results as one message each, so
// they are held whole to check; the caps bound what a hostile bundle can make us hold.
const MAX_NODE_SESSION_BYTES = 16 * 1024 * 1024;
const MAX_TEST_RESULTS_BYTES = 4 * 1024 * 1024;
export const MAX_DIFF_BYTES = 64 * 1024 * 1024;
const HASH_BUFFER_BYTES = 2 * 1024 * 1024;

/** The runtime's key and receipts from node-session.json, or why they cannot be checked. */
export interface RuntimeEvidence {
  checker?: RuntimeReceiptChecker;
  problem: { code: CheckCode; detail: string };
}

export interface ArtifactPass {
  missing: string[];
  unreadable: string[];
  sizeMismatch: string[];
  digestMismatch: string[];
  /** How many distinct listed files were hashed (or tried). */
  hashed: number;
  decisions: JsonlReader;
  toolCalls: JsonlReader;
  /** From the decisions: any deny, and any deny that Cloud evaluated. */
  facts: { deny: boolean; cloudDeny: boolean };
  runtime: RuntimeEvidence;
  held: ReadonlyMap<string, HeldBytes>;
}

const passes = new WeakMap<BundleContext, Promise<ArtifactPass>>();

/** The pass for this bundle and manifest, run once however many checks ask for it. */
export function artifactPass(ctx: BundleContext, manifest: Manifest): Promise<ArtifactPass> {
  let pass = passes.get(ctx);
  if (pass === undefined) {
    pass = runArtifactPass(ctx.root, manifest);
    passes.set(ctx, pass);
  }
  return pass;
}

async function runArtifactPass(root: string, manifest: Manifest): Promise<ArtifactPass> {
  const facts = { deny: false, cloudDeny: false };
  // node-session.json is hashed first (below), so its receipts are known before any record streams past.
  const runtime: RuntimeEvidence = { problem: { code: 'RUNTIME_EVIDENCE_INVALID', detail: `${NODE_SESSION_FILE} was not read` } };
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
  const out: ArtifactPass = { missing: [], unreadable: [], sizeMismatch: [], digestMismatch: [], hashed: 0, decisions, toolCalls, facts, runtime, held };
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
      if (result.reason === 'missing') out.missing.push(a.path);
      else out.unreadable.push(`${a.path} (${result.detail})`);
      continue;
    }
    reader?.end();
    if (result.file.size !== a.size) out.sizeMismatch.push(`${a.path} (${result.file.size} bytes, manifest says ${a.size})`);
    if (!hexEqual(a.sha256, result.file.sha256.toString('hex'))) out.digestMismatch.push(a.path);
  }
  out.hashed = hashed.size;
  return out;
}

/** Bytes of one file, kept from the chunks being hashed so the bytes judged are the bytes hashed. */
export class HeldBytes {
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

export function parseHeldJson(bytes: Buffer | undefined, name: string): { ok: true; value: JsonValue } | { ok: false; detail: string } {
  if (bytes === undefined) return { ok: false, detail: `${name} is too large to check` };
  try {
    return { ok: true, value: parseStrictJsonBytes(bytes) };
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    return { ok: false, detail: `${name}: ${error.code}` };
  }
}

function readRuntimeEvidence(bytes: Buffer | undefined, runtime: RuntimeEvidence): void {
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
