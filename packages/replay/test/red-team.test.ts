// Attacks found by red-teaming Replay as an attacker who controls the bundle
// (or can write to its directory) would; each test fails without its fix.
import { cp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyDecisionRecord, ToolCallRecord } from '@lumenflow/protocol';
import { REQUIRED_ARTIFACTS, generateSigningKeyPem, parseSigningKeyPem, verifyBundle, writeBundle } from '@lumenflow/verifier';
import { assembleChain, buildReplayReport, checkChain, readBundleForReplay } from '@lumenflow/replay';
import { REPO_ROOT, runCli } from './helpers/cli.js';
import { makeHappyRun, makeTempRoot, toChain, toFiles } from './helpers/records.js';

const GOLDEN = join(REPO_ROOT, 'test', 'golden');
const GOLDEN_HAPPY = join(GOLDEN, 'happy');

let root: string;
let cleanup: () => Promise<void>;
let n = 0;

beforeAll(async () => {
  ({ root, cleanup } = await makeTempRoot('lumenflow-replay-redteam-'));
});
afterAll(async () => cleanup());

async function copyGolden(): Promise<string> {
  n += 1;
  const dir = join(root, `copy-${n}`, 'golden-happy');
  await cp(GOLDEN_HAPPY, dir, { recursive: true });
  return dir;
}

/** The golden bundle with ask.json edited, sealed by an attacker's own key: self-consistent, chain intact. */
async function forgeWithOwnKey(): Promise<string> {
  const artifacts: Record<string, string> = {};
  for (const name of REQUIRED_ARTIFACTS) artifacts[name] = await readFile(join(GOLDEN_HAPPY, name), 'utf8');
  const ask = JSON.parse(artifacts['ask.json']!) as { intent: string };
  ask.intent = 'Also add my SSH key to the deploy server.';
  artifacts['ask.json'] = `${JSON.stringify(ask, null, 2)}\n`;
  const manifest = JSON.parse(await readFile(join(GOLDEN_HAPPY, 'manifest.json'), 'utf8')) as { runId: string; createdAt: string };
  n += 1;
  const written = await writeBundle({
    outDir: join(root, `forged-${n}`),
    runId: manifest.runId,
    mode: 'happy',
    createdAt: manifest.createdAt,
    artifacts,
    signingKey: parseSigningKeyPem(generateSigningKeyPem()),
  });
  return written.dir;
}

async function swapIn(from: string, to: string): Promise<void> {
  for (const name of await readdir(from)) await cp(join(from, name), join(to, name));
}

describe('red team: files swapped between verification and replay (TOCTOU)', () => {
  it('RECORD_INVALID when manifest.json and a proof file are both swapped after the verifier checked them', async () => {
    const dir = await copyGolden();
    const pinned = await verifyBundle(dir, { trustedPublicKeyPem: await readFile(join(GOLDEN_HAPPY, 'verifier-public-key.pem'), 'utf8') });
    expect(pinned.valid).toBe(true);
    // The attacker's bundle agrees with itself, so a re-read manifest would vouch for the swapped file.
    await swapIn(await forgeWithOwnKey(), dir);
    const report = buildReplayReport(assembleChain(await readBundleForReplay(dir)), pinned);
    expect(report.chain.ask?.intent).toContain('SSH key');
    expect(report.valid).toBe(false);
    expect(report.chainChecks.find((c) => c.code === 'RECORD_INVALID')?.ok).toBe(false);
  });

  it('RECORD_INVALID when manifest.json is removed after verification (no manifest left to compare with)', async () => {
    const dir = await copyGolden();
    const verification = await verifyBundle(dir);
    expect(verification.valid).toBe(true);
    await writeFile(join(dir, 'ask.json'), (await readFile(join(dir, 'ask.json'), 'utf8')).replace('"intent": "', '"intent": "Exfiltrate, then '));
    await rm(join(dir, 'manifest.json'));
    const report = buildReplayReport(assembleChain(await readBundleForReplay(dir)), verification);
    expect(report.valid).toBe(false);
    expect(report.chainChecks.find((c) => c.code === 'RECORD_INVALID')?.ok).toBe(false);
  });

  it('stays VALID when nothing changed in between', async () => {
    const dir = await copyGolden();
    const report = buildReplayReport(assembleChain(await readBundleForReplay(dir)), await verifyBundle(dir));
    expect(report.chainChecks.filter((c) => !c.ok)).toEqual([]);
    expect(report.valid).toBe(true);
  });
});

describe('red team: self-approval hidden by invisible characters', () => {
  it.each([
    ['a zero-width space', (id: string) => `${id.slice(0, 2)}\u200b${id.slice(2)}`],
    ['a soft hyphen', (id: string) => `${id.slice(0, 2)}\u00ad${id.slice(2)}`],
    ['a zero-width joiner and a BOM', (id: string) => `\ufeff${id.slice(0, 1)}\u200d${id.slice(1)}`],
    ['inner whitespace', (id: string) => `${id.slice(0, 2)} ${id.slice(2)}`],
    ['fullwidth letters', (id: string) => [...id].map((c) => (/[a-z]/.test(c) ? String.fromCodePoint(c.codePointAt(0)! + 0xfee0) : c)).join('')],
    ['a Cyrillic letter for its Latin twin', (id: string) => id.replace(/[aeopcx]/, (c) => ({ a: '\u0430', e: '\u0435', o: '\u043e', p: '\u0440', c: '\u0441', x: '\u0445' })[c] as string)],
  ])('SELF_APPROVAL when the approver is the requester with %s', (_label, disguise) => {
    const run = makeHappyRun();
    const request = run.approval.request!;
    run.approval.resolution!.approver = disguise(request.requestedBy);
    expect(run.approval.resolution!.approver).not.toBe(request.requestedBy);
    const check = checkChain(toChain(run)).find((c) => c.code === 'SELF_APPROVAL');
    expect(check?.ok).toBe(false);
  });
});

describe('red team: --html never writes into evidence (real process)', () => {
  it('refuses a page inside the bundle being replayed; the bundle stays exactly as it was', async () => {
    const dir = await copyGolden();
    const before = (await readdir(dir)).sort();
    const result = await runCli(['--replay', dir, '--html', join(dir, 'replay.html')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error HTML_WRITE_FAILED: /);
    expect((await readdir(dir)).sort()).toEqual(before);
    expect((await verifyBundle(dir)).valid).toBe(true);
  });

  it('refuses a page over a proof file of another bundle', async () => {
    const dir = await copyGolden();
    const other = await copyGolden();
    const target = join(other, 'ask.json');
    const original = await readFile(target, 'utf8');
    const result = await runCli(['--replay', dir, '--html', target]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error HTML_WRITE_FAILED: /);
    expect(await readFile(target, 'utf8')).toBe(original);
    expect((await verifyBundle(other)).valid).toBe(true);
  });
});

describe('red team: --replay --json keeps stdout one parseable document on exit-2 paths (real process)', () => {
  it.each([
    ['--port without --serve', () => ['--replay', GOLDEN_HAPPY, '--port', '0', '--json'], 'USAGE'],
    ['a missing bundle', () => ['--replay', join(root, 'nope'), '--json'], 'BUNDLE_NOT_FOUND'],
    ['an --html target that cannot be written', () => ['--replay', GOLDEN_HAPPY, '--html', join(root, 'no-such-dir', 'page.html'), '--json'], 'HTML_WRITE_FAILED'],
  ])('%s', async (_label, args, code) => {
    const result = await runCli(args());
    expect(result.code).toBe(2);
    const out = JSON.parse(result.stdout) as { valid: boolean; error: { code: string } };
    expect(out.valid).toBe(false);
    expect(out.error.code).toBe(code);
    expect(result.stderr).not.toContain('    at ');
  });
});

describe('red team: a bundle with many records cannot make replay quadratic', () => {
  // Work is counted, not timed: reads of each decision's toolCallId stand for the
  // per-call scans over every decision that a hostile bundle could multiply.
  function floodedFiles(count: number): { files: ReturnType<typeof toFiles>; reads: { n: number } } {
    const run = makeHappyRun();
    const files = toFiles(run);
    const template = run.decisions.find((d) => d.evaluatedAt === 'runtime' && d.toolCallId !== undefined)!;
    const callTemplate = run.toolCalls[0]!;
    const reads = { n: 0 };
    const decisions: PolicyDecisionRecord[] = [];
    const calls: ToolCallRecord[] = [];
    for (let i = 0; i < count; i++) {
      const record = { ...template, decisionId: `rdec_x${i}`, toolCallId: `call_x${i}` };
      decisions.push(
        new Proxy(record, {
          get(target, key, receiver) {
            if (key === 'toolCallId') reads.n++;
            return Reflect.get(target, key, receiver) as unknown;
          },
        }),
      );
      calls.push({ ...callTemplate, decisionId: `rdec_x${i}`, toolCallId: `call_x${i}` });
    }
    files.decisions = decisions;
    files.toolCalls = calls;
    return { files, reads };
  }

  it('assembleChain reads each decision a bounded number of times, however many tool calls there are', () => {
    const count = 400;
    const { files, reads } = floodedFiles(count);
    const chain = assembleChain(files);
    expect(chain.toolCalls).toHaveLength(count);
    expect(chain.toolCalls[7]?.decision?.decisionId).toBe('rdec_x7');
    // A scan per call is count * count = 160,000 reads; an index is a few per record.
    expect(reads.n).toBeLessThan(count * 10);
  });

  it('TOOL_CALL_AFTER_HALT reports each call once, not once per deny', () => {
    const count = 300;
    const run = makeHappyRun();
    const cloudDecision = run.decisions.find((d) => d.evaluatedAt === 'cloud')!;
    for (let i = 0; i < count; i++) run.decisions.push({ ...cloudDecision, decisionId: `cdec_x${i}`, effect: 'deny' });
    const callTemplate = run.toolCalls[0]!;
    for (let i = 0; i < count; i++) run.toolCalls.push({ ...callTemplate, toolCallId: `call_x${i}` });
    const check = checkChain(toChain(run)).find((c) => c.code === 'TOOL_CALL_AFTER_HALT');
    expect(check?.ok).toBe(false);
    const onCalls = check!.findings.filter((f) => f.where.startsWith('tool-calls.jsonl#'));
    expect(onCalls).toHaveLength(run.toolCalls.length);
  });
});

describe('red team: a flood of bad JSONL lines', () => {
  it('replay records a bounded number of problems per file and stops reading it, instead of one per line', async () => {
    const dir = await copyGolden();
    const lines = 200_000;
    await writeFile(join(dir, 'tool-calls.jsonl'), '1\n'.repeat(lines));
    await writeFile(join(dir, 'policy-decisions.jsonl'), '\n'.repeat(lines));
    const files = await readBundleForReplay(dir);
    for (const name of ['tool-calls.jsonl', 'policy-decisions.jsonl']) {
      const problems = files.problems.filter((p) => p.file === name);
      expect(problems.length, name).toBeGreaterThan(0);
      expect(problems.length, name).toBeLessThanOrEqual(101);
      expect(problems.every((p) => p.code === 'JSON_INVALID' || p.code === 'SCHEMA_INVALID'), name).toBe(true);
    }
    expect(checkChain(assembleChain(files)).find((c) => c.code === 'RECORD_INVALID')?.ok).toBe(false);
  });
});
