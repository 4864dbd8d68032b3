import { createHash } from 'node:crypto';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import {
  ApprovalRecordSchema,
  AskSchema,
  NodeSessionSchema,
  PolicyDecisionRecordSchema,
  ProtocolError,
  TestResultsSchema,
  ToolCallRecordSchema,
  formatIssuePath,
  parseStrictJson,
} from '@lumenflow/protocol';
import { MANIFEST_FILE, REQUIRED_ARTIFACTS, readFileCapped } from '@lumenflow/verifier';
import type { JsonValue } from '@lumenflow/protocol';
import type { ReplayBundleFiles, ReplayManifestInfo, ReplayReadProblem } from './types.js';

// A bundle is attacker-controlled: a multi-gigabyte "record" must not take the
// process down while we only want to show it. The verifier streams large files;
// replay reads proof records whole, so it refuses anything past this size.
const MAX_FILE_BYTES = 64 * 1024 * 1024;
// Enough to show what is wrong with a file; past it, more findings only cost time.
const MAX_LINE_PROBLEMS_PER_FILE = 100;

// The verifier's list is the one source of what a bundle holds.
const PROOF_FILES: readonly string[] = [...REQUIRED_ARTIFACTS, MANIFEST_FILE];

type ReadOutcome = { ok: true; bytes: Uint8Array } | { ok: false };

/**
 * Reads a bundle's proof files for replay. Never throws on bad input: a missing,
 * unreadable, non-UTF-8, malformed or schema-invalid file becomes an entry in
 * `problems` and its slot stays null (or loses the bad line, for .jsonl).
 * Symlinks and other non-regular files are refused, never followed.
 *
 * @throws {TypeError} when `dir` is not a non-empty string.
 */
export async function readBundleForReplay(dir: string): Promise<ReplayBundleFiles> {
  if (typeof dir !== 'string' || dir.length === 0) throw new TypeError('readBundleForReplay: dir must be a non-empty string');
  const files: ReplayBundleFiles = {
    dir,
    readable: false,
    ask: null,
    session: null,
    decisions: null,
    toolCalls: null,
    testResults: null,
    approval: null,
    diff: null,
    prSummary: null,
    replayLink: null,
    manifest: null,
    digests: {},
    problems: [],
  };
  const problems = files.problems;

  try {
    const stat = await lstat(dir);
    if (!stat.isDirectory()) {
      problems.push({ file: '.', code: 'BUNDLE_NOT_DIRECTORY', message: `${dir} is not a directory` });
      return files;
    }
    await readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'BUNDLE_NOT_FOUND' : 'BUNDLE_UNREADABLE';
    problems.push({ file: '.', code, message: `${dir}: ${code === 'BUNDLE_NOT_FOUND' ? 'no such directory' : 'cannot be read'}` });
    return files;
  }

  const raw = new Map<string, Uint8Array>();
  for (const name of PROOF_FILES) {
    const outcome = await readRegularFile(dir, name, problems);
    if (outcome.ok) raw.set(name, outcome.bytes);
  }
  files.readable = raw.size > 0;
  for (const [name, bytes] of raw) files.digests[name] = createHash('sha256').update(bytes).digest('hex');

  const text = (name: string): string | null => {
    const bytes = raw.get(name);
    return bytes === undefined ? null : decodeUtf8(name, bytes, problems);
  };

  files.ask = parseDocument('ask.json', text('ask.json'), AskSchema, problems);
  files.session = parseDocument('node-session.json', text('node-session.json'), NodeSessionSchema, problems);
  files.testResults = parseDocument('test-results.json', text('test-results.json'), TestResultsSchema, problems);
  files.approval = parseDocument('approval.json', text('approval.json'), ApprovalRecordSchema, problems);
  files.decisions = parseLines('policy-decisions.jsonl', text('policy-decisions.jsonl'), PolicyDecisionRecordSchema, problems);
  files.toolCalls = parseLines('tool-calls.jsonl', text('tool-calls.jsonl'), ToolCallRecordSchema, problems);
  files.diff = raw.get('file-diff.patch') ?? null;
  files.prSummary = raw.get('pr-summary.md') ?? null;
  files.replayLink = text('replay-link.txt');
  if (files.diff !== null) decodeUtf8('file-diff.patch', files.diff, problems);
  if (files.prSummary !== null) decodeUtf8('pr-summary.md', files.prSummary, problems);
  files.manifest = readManifestInfo(text('manifest.json'));
  return files;
}

async function readRegularFile(dir: string, name: string, problems: ReplayReadProblem[]): Promise<ReadOutcome> {
  const read = await readFileCapped(join(dir, name), MAX_FILE_BYTES);
  if (read.ok) return read;
  switch (read.reason) {
    case 'missing':
      // manifest.json is the verifier's to demand; replay only uses it for the header.
      if (name !== 'manifest.json') problems.push({ file: name, code: 'FILE_MISSING', message: `${name} is missing` });
      break;
    case 'not-regular':
      problems.push({ file: name, code: 'FILE_NOT_REGULAR', message: `${name} ${read.detail}; replay does not follow links` });
      break;
    case 'too-large':
      problems.push({ file: name, code: 'FILE_TOO_LARGE', message: `${name} ${read.detail}` });
      break;
    case 'unreadable':
      problems.push({ file: name, code: 'FILE_UNREADABLE', message: `${name} cannot be read` });
      break;
  }
  return { ok: false };
}

function decodeUtf8(file: string, bytes: Uint8Array, problems: ReplayReadProblem[]): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    if (!problems.some((p) => p.file === file && p.code === 'FILE_NOT_UTF8')) {
      problems.push({ file, code: 'FILE_NOT_UTF8', message: `${file} is not valid UTF-8` });
    }
    return null;
  }
}

function parseJson(file: string, text: string, problems: ReplayReadProblem[], line?: number): JsonValue | undefined {
  try {
    return parseStrictJson(text);
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    const problem: ReplayReadProblem = { file, code: 'JSON_INVALID', message: `${file}: ${error.code}: ${error.message}` };
    const at = line ?? error.line;
    if (at !== undefined) problem.line = at;
    problems.push(problem);
    return undefined;
  }
}

function validate<S extends z.ZodType>(
  file: string,
  value: JsonValue,
  schema: S,
  problems: ReplayReadProblem[],
  line?: number,
): z.infer<S> | null {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue === undefined ? '' : formatIssuePath(issue.path);
  const problem: ReplayReadProblem = {
    file,
    code: 'SCHEMA_INVALID',
    message: `${file}${line === undefined ? '' : `:${line}`}: ${path === '' ? '' : `${path}: `}${issue?.message ?? 'does not match its schema'}`,
  };
  if (path !== '') problem.path = path;
  if (line !== undefined) problem.line = line;
  problems.push(problem);
  return null;
}

function parseDocument<S extends z.ZodType>(file: string, text: string | null, schema: S, problems: ReplayReadProblem[]): z.infer<S> | null {
  if (text === null) return null;
  const value = parseJson(file, text, problems);
  return value === undefined ? null : validate(file, value, schema, problems);
}

function parseLines<S extends z.ZodType>(file: string, text: string | null, schema: S, problems: ReplayReadProblem[]): z.infer<S>[] | null {
  if (text === null) return null;
  const records: z.infer<S>[] = [];
  const before = problems.length;
  let start = 0;
  let line = 0;
  // Walk the text instead of splitting it, and stop after a bounded number of bad
  // lines: 64 MiB of "1\n" is thirty million lines, and one problem (and one schema
  // failure) per line would keep replay busy for many minutes and exhaust memory.
  while (start < text.length) {
    const newline = text.indexOf('\n', start);
    const end = newline === -1 ? text.length : newline;
    const lineText = text.slice(start, end);
    start = end + 1;
    line += 1;
    if (problems.length - before >= MAX_LINE_PROBLEMS_PER_FILE) {
      problems.push({ file, code: 'JSON_INVALID', line, message: `${file}: more than ${MAX_LINE_PROBLEMS_PER_FILE} bad lines; replay stopped reading at line ${line}` });
      break;
    }
    if (lineText.trim() === '') {
      problems.push({ file, code: 'JSON_INVALID', line, message: `${file}:${line}: empty line` });
      continue;
    }
    const value = parseJson(file, lineText, problems, line);
    if (value === undefined) continue;
    const record = validate(file, value, schema, problems, line);
    if (record !== null) records.push(record);
  }
  return records;
}

function readManifestInfo(text: string | null): ReplayManifestInfo | null {
  if (text === null) return null;
  let value: JsonValue;
  try {
    value = parseStrictJson(text);
  } catch {
    return null;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const info: ReplayManifestInfo = {};
  const pick = (v: JsonValue | undefined): string | undefined => (typeof v === 'string' ? v : undefined);
  const runId = pick(value['runId']);
  const mode = pick(value['mode']);
  const createdAt = pick(value['createdAt']);
  const signer = value['signer'];
  const keyId = signer !== null && typeof signer === 'object' && !Array.isArray(signer) ? pick(signer['keyId']) : undefined;
  if (runId !== undefined) info.runId = runId;
  if (mode !== undefined) info.mode = mode;
  if (createdAt !== undefined) info.createdAt = createdAt;
  if (keyId !== undefined) info.keyId = keyId;
  const artifacts = value['artifacts'];
  if (Array.isArray(artifacts)) {
    const digests: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const entry of artifacts) {
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) continue;
      const path = pick(entry['path']);
      const sha256 = pick(entry['sha256']);
      if (path !== undefined && sha256 !== undefined) digests[path] = sha256;
    }
    info.artifactDigests = digests;
  }
  return info;
}
