import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as replay from '@lumenflow/replay';
import { REPLAY_PAGE_CSP, buildReplayReport, buildReplayUrl, buildTimeline, escapeHtml, formatDuration, formatReplayReport, renderReplayHtml, sanitizeForTerminal } from '@lumenflow/replay';
import type { VerificationReport } from '@lumenflow/verifier';
import { makeHappyRun, makePolicyBlockedRun, toChain } from './helpers/records.js';
import type { RunRecords } from './helpers/records.js';

const verified = (valid = true, signerPinned = false): VerificationReport => ({
  valid,
  dir: '/bundles/run_0001',
  runId: 'run_0001',
  mode: 'happy',
  keyId: `sha256:${'a'.repeat(64)}`,
  signerPinned,
  checks: [{ name: 'signature.valid', ok: valid, ...(valid ? {} : { code: 'SIGNATURE_INVALID', detail: 'bad signature' }) }],
});

const reportOf = (run: RunRecords, verification = verified()) => buildReplayReport(toChain(run), verification);

describe('public API', () => {
  it('exports every replay function from @lumenflow/replay', () => {
    for (const name of ['readBundleForReplay', 'assembleChain', 'checkChain', 'buildTimeline', 'buildReplayReport', 'replayBundle', 'formatReplayReport', 'renderReplayHtml', 'startReplayServer', 'computeActionHash', 'escapeHtml', 'sanitizeForTerminal', 'buildReplayUrl']) {
      expect(typeof (replay as Record<string, unknown>)[name], name).toBe('function');
    }
    expect(replay.CHAIN_CHECK_CODES).toHaveLength(16);
    expect(replay.DEFAULT_REPLAY_BASE_URL).toBe('http://127.0.0.1:4173');
  });
});

describe('buildTimeline', () => {
  it('has one event per chain link, in time order, untimed steps in chain order', () => {
    const chain = toChain(makeHappyRun());
    const events = buildTimeline(chain);
    expect(events).toHaveLength(chain.links.length);
    const timed = events.filter((e) => e.at !== null).map((e) => Date.parse(e.at!));
    expect(timed).toEqual([...timed].sort((a, b) => a - b));
    expect(events.map((e) => e.step)).toEqual([
      'ask', 'policy', 'policy', 'policy', 'dispatch', 'policy', 'tool_call', 'policy', 'tool_call', 'policy', 'tool_call',
      'tests', 'policy', 'approval_request', 'approval_resolution', 'pr', 'proof',
    ]);
    const call = events.find((e) => e.ref === 'tc_0003');
    expect(call?.status).toBe('succeeded (exit 0)');
    expect(call?.durationMs).toBe(2000);
  });

  it('shows a policy-blocked run as Ask, deny, dispatch, no tests, no approval, no PR, Proof', () => {
    const events = buildTimeline(toChain(makePolicyBlockedRun()));
    expect(events.map((e) => `${e.step}:${e.status}`)).toEqual([
      'ask:received', 'policy:deny', 'dispatch:opened', 'tests:not_run', 'approval_request:not_requested', 'pr:not_opened', 'proof:signed',
    ]);
  });
});

describe('Replay says what happened', () => {
  it('an approved PR is recorded as approved and not opened, since this cut opens none', () => {
    const pr = buildTimeline(toChain(makeHappyRun())).find((e) => e.step === 'pr');
    expect(pr?.status).toBe('approved');
    expect(pr?.what).toMatch(/not opened/);
    const text = formatReplayReport(reportOf(makeHappyRun()));
    const prLine = text.split('\n').find((line) => /^\s+PR\s/.test(line));
    expect(prLine).toMatch(/approved; recorded, not opened/);
    expect(prLine).not.toMatch(/\sopened\s*$/);
  });

  it('the chain line never reassures above an INVALID verdict', () => {
    const text = formatReplayReport(reportOf(makeHappyRun(), verified(false)));
    expect(text.split('\n')[0]).toMatch(/^INVALID/);
    const chainLine = text.split('\n').find((line) => line.startsWith('  chain:'));
    expect(chainLine).not.toMatch(/holds together/);
    expect(chainLine).toMatch(/proves nothing: the bundle failed/);
  });
});

describe('formatReplayReport', () => {
  it('puts the verdict on the first line and says when the signer is not pinned', () => {
    const text = formatReplayReport(reportOf(makeHappyRun()));
    expect(text.split('\n')[0]).toBe('VALID  run run_0001 (happy)  (signer NOT pinned)');
    expect(text).toContain('NOT PINNED');
    expect(formatReplayReport(reportOf(makeHappyRun(), verified(true, true))).split('\n')[0]).toBe('VALID  run run_0001 (happy)');
  });

  it('is INVALID first when verification fails, and still lists the timeline', () => {
    const text = formatReplayReport(reportOf(makeHappyRun(), verified(false)));
    expect(text.split('\n')[0]).toMatch(/^INVALID/);
    expect(text).toContain('✗ bundle SIGNATURE_INVALID');
    expect(text).toContain('Timeline (17 events)');
  });

  it('is INVALID when only a chain check fails, naming the code and marking the event', () => {
    const run = makeHappyRun();
    run.approval.resolution!.approver = run.approval.request!.requestedBy;
    const text = formatReplayReport(reportOf(run));
    expect(text.split('\n')[0]).toMatch(/^INVALID/);
    expect(text).toMatch(/✗ chain {2}SELF_APPROVAL/);
    expect(text).toMatch(/Approval .*✗ SELF_APPROVAL/);
  });

  it('formats durations', () => {
    expect([null, 5, 999, 1500, 61_000].map(formatDuration)).toEqual(['-', '5ms', '999ms', '1.5s', '1m01s']);
  });
});

describe('escaping', () => {
  it('sanitizeForTerminal leaves no control or bidi character', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        // eslint-disable-next-line no-control-regex -- the property is about control characters
        expect(sanitizeForTerminal(s)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
      }),
    );
  });

  it('escapeHtml leaves no markup character and is reversible', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const escaped = escapeHtml(s);
        expect(escaped).not.toMatch(/[<>"']/);
        expect(escaped.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))).toBe(s);
      }),
    );
  });

  it('no bundle string can open a tag on the page', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (before, after) => {
        const run = makeHappyRun();
        const hostile = `${before}<x-evil a="${after}">`;
        run.toolCalls[0]!.inputSummary = hostile;
        run.decisions[0]!.reason = hostile;
        run.ask.intent = hostile;
        run.prSummary = hostile;
        run.diff = `+${hostile}\n`;
        const html = renderReplayHtml(reportOf(run));
        expect(html).not.toContain('<x-evil');
      }),
      { numRuns: 40 },
    );
  });

  it('the CSP admits exactly the page’s own stylesheet and no script', () => {
    const html = renderReplayHtml(reportOf(makeHappyRun()));
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? '';
    const hash = createHash('sha256').update(style).digest('base64');
    expect(REPLAY_PAGE_CSP).toContain(`style-src 'sha256-${hash}'`);
    expect(REPLAY_PAGE_CSP).toContain("script-src 'none'");
    expect(REPLAY_PAGE_CSP).toContain("default-src 'none'");
    expect(html).not.toMatch(/<script|<link|<img|<iframe|url\(/i);
  });
});

describe('buildReplayUrl', () => {
  it('joins base and run id as <base>/runs/<runId>', () => {
    expect(buildReplayUrl('http://127.0.0.1:4173/', 'run_0001')).toBe('http://127.0.0.1:4173/runs/run_0001');
  });
});
