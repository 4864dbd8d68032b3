import { createHash } from 'node:crypto';
import { describeTestShortfall } from '@lumenflow/protocol';
import type { PolicyDecisionRecord } from '@lumenflow/protocol';
import { computeActionHash } from './check-chain.js';
import { STEP_LABELS, formatDuration } from './format-replay.js';
import type { ReplayReport } from './replay-report.js';
import type { ChainToolCall } from './types.js';

/**
 * Escapes text for HTML element content and quoted attribute values. Every
 * bundle-derived string goes through this: the bundle is attacker-controlled.
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
:root{--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--muted:#57606a;--line:#d0d7de;--bg:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;font:14px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2328;background:#fff}
main{max-width:1100px;margin:0 auto;padding:0 20px 40px}
.wrap{max-width:1100px;margin:0 auto;padding:0 20px}
h2{font-size:17px;margin:28px 0 8px;padding-bottom:4px;border-bottom:1px solid var(--line)}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.verdict{padding:18px 0;color:#fff;margin-bottom:8px}
.verdict.valid{background:var(--ok)}.verdict.invalid{background:var(--bad)}
.verdict .word{font-size:30px;font-weight:800;letter-spacing:.06em}
.verdict .sub{opacity:.95}
.pin{margin:8px 0;padding:8px 12px;border-left:4px solid var(--warn);background:#fff8c5}
.pin.pinned{border-color:var(--ok);background:#dafbe1}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:5px 8px;border-bottom:1px solid var(--line)}
th{background:var(--bg);font-weight:600}
td.t{white-space:nowrap;color:var(--muted)}
td.w{overflow-wrap:anywhere}
td.d{text-align:right;white-space:nowrap}
.badge{display:inline-block;white-space:nowrap;padding:0 7px;border-radius:10px;font-size:12px;font-weight:600;background:var(--bg);border:1px solid var(--line)}
.badge.allow,.badge.succeeded,.badge.approved,.badge.passed,.badge.opened,.badge.ok,.badge.signed{color:var(--ok);border-color:var(--ok)}
.badge.deny,.badge.failed,.badge.rejected,.badge.bad,.badge.expired,.badge.incomplete{color:var(--bad);border-color:var(--bad)}
.badge.approval_required,.badge.waiting,.badge.not_requested,.badge.not_run,.badge.not_opened{color:var(--warn);border-color:var(--warn)}
tr.flagged td{background:#ffebe9}
.flag{color:var(--bad);font-weight:600}
details{border:1px solid var(--line);border-radius:6px;margin:6px 0}
details>summary{cursor:pointer;padding:6px 10px;list-style-position:inside}
details[open]>summary{border-bottom:1px solid var(--line);background:var(--bg)}
details .body{padding:8px 12px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0}
dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}
.decision{border-left:3px solid var(--line);padding:4px 10px;margin-top:8px}
.diff{border:1px solid var(--line);border-radius:6px;overflow:auto;max-height:520px}
.diff pre{margin:0;padding:6px 0}
.diff span{display:block;padding:0 10px;white-space:pre}
.diff .add{background:#dafbe1}.diff .del{background:#ffebe9}.diff .hunk{background:#ddf4ff;color:#0550ae}.diff .meta{color:var(--muted);font-weight:600}
pre.text{white-space:pre-wrap;background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:10px;margin:0}
ul.checks{list-style:none;padding:0;margin:0}ul.checks li{padding:2px 0}
.muted{color:var(--muted)}
`;

const STYLE_HASH = `sha256-${createHash('sha256').update(STYLE).digest('base64')}`;

/**
 * The Content-Security-Policy of the Replay page: nothing may load or run
 * except the one inline stylesheet, identified by its hash. The page has no
 * script at all, so an injection that slipped past escaping still could not run.
 */
export const REPLAY_PAGE_CSP = `default-src 'none'; style-src '${STYLE_HASH}'; img-src 'none'; script-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'`;

/**
 * Renders the Replay page as one self-contained HTML document: inline CSS, no
 * script, no external requests, and a strict CSP. Pure.
 */
export function renderReplayHtml(report: ReplayReport): string {
  const e = escapeHtml;
  const { chain } = report;
  const title = `Replay ${report.runId ?? 'unknown run'}: ${report.verdict}`;
  const parts: string[] = [];
  parts.push(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${e(REPLAY_PAGE_CSP)}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(title)}</title>
<style>${STYLE}</style>
</head>
<body>`);
  parts.push(renderVerdict(report));
  parts.push('<main>');
  parts.push(renderChecks(report));
  parts.push(renderTimeline(report));
  parts.push(renderAsk(report));
  parts.push(renderDecisions(chain.decisions, report));
  parts.push(renderToolCalls(chain.toolCalls, report));
  parts.push(renderDiff(chain.diff?.text ?? null));
  parts.push(renderTests(report));
  parts.push(renderApproval(report));
  parts.push(renderPr(report));
  const redactions = renderRedactions(report);
  if (redactions !== '') parts.push(redactions);
  parts.push(renderProof(report));
  parts.push('</main>\n</body>\n</html>\n');
  return parts.join('\n');
}

function badge(status: string, testid?: string): string {
  const cls = /^[a-z_]+$/.test(status) ? status : 'other';
  return `<span class="badge ${cls}"${testid === undefined ? '' : ` data-testid="${testid}"`}>${escapeHtml(status)}</span>`;
}

function renderVerdict(report: ReplayReport): string {
  const e = escapeHtml;
  const cls = report.valid ? 'valid' : 'invalid';
  const failedBundle = report.verification.checks.filter((c) => !c.ok).length;
  const failedChain = report.chainChecks.filter((c) => !c.ok).length;
  const sub = report.valid
    ? 'The bundle verifies and its chain of authority holds together.'
    : `Do not trust this run's story: ${failedBundle} bundle check${failedBundle === 1 ? '' : 's'} and ${failedChain} chain check${failedChain === 1 ? '' : 's'} failed.`;
  const pin = report.signerPinned
    ? `<div class="pin pinned" data-testid="signer" data-pinned="true">Signer <code>${e(report.keyId ?? 'unknown')}</code> matches the pinned key.</div>`
    : `<div class="pin" data-testid="signer" data-pinned="false"><strong>Signer not pinned.</strong> Key <code>${e(report.keyId ?? 'unknown')}</code> is only the bundle's own: this shows the bundle agrees with itself, not who made it. Pin it with <code>--trusted-key</code> or <code>--expect-key-id</code>.</div>`;
  return `<header class="verdict ${cls}"><div class="wrap">
<div class="word" data-testid="verdict">${report.verdict}</div>
<div class="sub">Run <code data-testid="run-id">${e(report.runId ?? 'unknown')}</code>${report.mode === null ? '' : ` · mode <span data-testid="mode">${e(report.mode)}</span>`}</div>
<div class="sub">${e(sub)}</div>
${report.warnings.map((w) => `<div class="sub" data-testid="warning">⚠ ${e(w)}</div>`).join('')}
</div></header>
<div class="wrap">${pin}${renderRuntimeEvidence(report)}</div>`;
}

// Which machine made the records: the runtime key Cloud enrolled, and whether each runtime record carries its signature.
function renderRuntimeEvidence(report: ReplayReport): string {
  const e = escapeHtml;
  const receipts = report.verification.checks.find((c) => c.name === 'runtime.receipts');
  const key = report.chain.session?.runtime.keyId ?? 'unknown';
  const ok = receipts?.ok === true;
  const state = receipts === undefined ? 'not checked' : ok ? `hold: ${receipts.detail ?? ''}` : `FAILED ${receipts.code ?? ''}: ${receipts.detail ?? ''}`;
  return `<div class="pin${ok ? ' pinned' : ''}" data-testid="runtime-evidence" data-ok="${ok}">Runtime key <code data-testid="runtime-key-id">${e(key)}</code>; runtime receipts ${e(state)}</div>`;
}

function renderChecks(report: ReplayReport): string {
  const e = escapeHtml;
  const chainItems = report.chainChecks.map((c) => {
    const findings = c.findings.map((f) => `<li class="muted">${e(f.where)}: ${e(f.message)}</li>`).join('');
    return `<li data-testid="chain-check" data-code="${e(c.code)}" data-ok="${c.ok}">${badge(c.ok ? 'ok' : 'bad')} <code>${e(c.code)}</code> ${e(c.name)}${findings === '' ? '' : `<ul>${findings}</ul>`}</li>`;
  });
  const bundleItems = report.verification.checks.map(
    (c) => `<li data-testid="bundle-check" data-ok="${c.ok}">${badge(c.ok ? 'ok' : 'bad')} <code>${e(c.name)}</code>${c.code === undefined ? '' : ` <code>${e(c.code)}</code>`}${c.detail === undefined ? '' : ` <span class="muted">${e(c.detail)}</span>`}</li>`,
  );
  const bundleOpen = report.verification.valid ? '' : ' open';
  const chainOpen = report.chainChecks.every((c) => c.ok) ? '' : ' open';
  return `<h2>Checks</h2>
<details data-testid="chain-checks"${chainOpen}><summary>Chain of authority: ${report.chainChecks.filter((c) => c.ok).length} of ${report.chainChecks.length} checks pass</summary><div class="body"><ul class="checks">${chainItems.join('')}</ul></div></details>
<details data-testid="bundle-checks"${bundleOpen}><summary>Bundle signature and files: ${report.verification.checks.filter((c) => c.ok).length} of ${report.verification.checks.length} checks pass</summary><div class="body"><ul class="checks">${bundleItems.join('')}</ul></div></details>`;
}

function renderTimeline(report: ReplayReport): string {
  const e = escapeHtml;
  const rows = report.timeline.map((ev) => {
    const flag = ev.problemCodes.length === 0 ? '' : ` <span class="flag">✗ ${e(ev.problemCodes.join(', '))}</span>`;
    return `<tr data-testid="timeline-event" data-step="${e(ev.step)}"${ev.problemCodes.length > 0 ? ' class="flagged"' : ''}><td class="t mono">${e(ev.at ?? '')}</td><td>${e(STEP_LABELS[ev.step])}</td><td class="w">${e(ev.what)}${flag}</td><td>${badge(ev.status)}</td><td class="d">${e(formatDuration(ev.durationMs))}</td></tr>`;
  });
  return `<h2>Timeline</h2>
<table data-testid="timeline"><thead><tr><th>Time</th><th>Step</th><th>What happened</th><th>Decision / status</th><th>Duration</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>${rows.length === 0 ? '<p class="muted">No readable records.</p>' : ''}`;
}

function renderAsk(report: ReplayReport): string {
  const e = escapeHtml;
  const ask = report.chain.ask;
  if (ask === null) return '<h2>Ask</h2><p class="muted" data-testid="ask">ask.json could not be read.</p>';
  const scopes = ask.requestedScopes.map((s) => `<li><code>${e(JSON.stringify(s))}</code></li>`).join('');
  return `<h2>Ask</h2>
<dl data-testid="ask"><dt>Ask</dt><dd><code>${e(ask.askId)}</code></dd><dt>Operator</dt><dd>${e(ask.operator.displayName)} <code>${e(ask.operator.id)}</code></dd>
<dt>Intent</dt><dd>${e(ask.intent)}</dd><dt>Workspace</dt><dd><code>${e(ask.workspace.repository)}</code> on <code>${e(ask.workspace.baseBranch)}</code></dd>
<dt>Scopes</dt><dd><ul>${scopes}</ul></dd><dt>Created</dt><dd class="mono">${e(ask.createdAt)}</dd></dl>`;
}

function renderDecisionBody(d: PolicyDecisionRecord): string {
  const e = escapeHtml;
  const warnings = d.warnings.length === 0 ? '' : `<dt>Warnings</dt><dd>${d.warnings.map((w) => e(w)).join('<br>')}</dd>`;
  return `<dl><dt>Decision</dt><dd><code>${e(d.decisionId)}</code> ${badge(d.effect, 'decision-effect')}</dd>
<dt>Rule</dt><dd><code data-testid="decision-rule">${e(d.decidingRuleId)}</code></dd>
<dt>Matched</dt><dd>${d.matchedRuleIds.length === 0 ? '<span class="muted">none</span>' : d.matchedRuleIds.map((r) => `<code>${e(r)}</code>`).join(', ')}</dd>
<dt>Reason</dt><dd>${e(d.reason)}</dd><dt>Evaluated</dt><dd>${e(d.evaluatedAt)} at <span class="mono">${e(d.timestamp)}</span></dd>
<dt>Scope</dt><dd><code>${e(d.scope.kind)}</code> <code>${e(d.scope.target)}</code></dd>${warnings}</dl>`;
}

function renderDecisions(decisions: PolicyDecisionRecord[], report: ReplayReport): string {
  const e = escapeHtml;
  const flagged = flaggedRefs(report);
  const rows = decisions.map(
    (d) =>
      `<tr data-testid="policy-decision" data-decision-id="${e(d.decisionId)}"${flagged.has(d.decisionId) ? ' class="flagged"' : ''}><td class="t mono">${e(d.timestamp)}</td><td>${e(d.evaluatedAt)}</td><td><code>${e(d.scope.kind)}</code> ${e(d.scope.target)}${d.toolCallId === undefined ? '' : ` <span class="muted">for ${e(d.toolCallId)}</span>`}</td><td>${badge(d.effect)}</td><td><code>${e(d.decidingRuleId)}</code><br><span class="muted">${e(d.reason)}</span></td></tr>`,
  );
  return `<h2>Rules: policy decisions</h2>
<table data-testid="policy-decisions"><thead><tr><th>Time</th><th>Where</th><th>Scope</th><th>Effect</th><th>Rule and reason</th></tr></thead><tbody>${rows.join('\n')}</tbody></table>${rows.length === 0 ? '<p class="muted">No policy decisions recorded.</p>' : ''}`;
}

function renderToolCalls(calls: ChainToolCall[], report: ReplayReport): string {
  const e = escapeHtml;
  const flagged = flaggedRefs(report);
  const items = calls.map(({ call, decision, otherDecisions }) => {
    const decisionBlock =
      decision === null
        ? `<div class="decision" data-testid="tool-call-decision"><span class="flag">No decision ${e(call.decisionId)} is in the bundle: nothing allowed this call.</span></div>`
        : `<div class="decision" data-testid="tool-call-decision"><strong>Allowed by</strong>${renderDecisionBody(decision)}</div>`;
    const others = otherDecisions.map((d) => `<div class="decision"><strong>Also decided</strong>${renderDecisionBody(d)}</div>`).join('');
    const flag = flagged.has(call.toolCallId) ? ' <span class="flag">✗</span>' : '';
    return `<details data-testid="tool-call" data-tool-call-id="${e(call.toolCallId)}"><summary><code>${e(call.toolCallId)}</code> <strong>${e(call.tool)}</strong> ${e(truncate(call.inputSummary, 90))} ${badge(call.status)}${flag}</summary><div class="body">
<dl><dt>Input</dt><dd><code data-testid="tool-call-input">${e(call.inputSummary)}</code></dd><dt>Scope</dt><dd><code>${e(call.scope.kind)}</code> <code>${e(call.scope.target)}</code></dd>
<dt>Ran</dt><dd class="mono">${e(call.startedAt)} → ${e(call.endedAt)} (${e(formatDuration(Date.parse(call.endedAt) - Date.parse(call.startedAt)))})</dd>
<dt>Result</dt><dd>${e(call.status)}${call.exitCode === undefined ? '' : `, exit ${call.exitCode}`}</dd>
<dt>Input hash</dt><dd class="mono">${e(call.inputHash)}</dd><dt>Output hash</dt><dd class="mono">${e(call.outputHash)}</dd></dl>
${decisionBlock}${others}</div></details>`;
  });
  return `<h2>Tool calls</h2>
<div data-testid="tool-calls">${items.join('\n')}${items.length === 0 ? '<p class="muted">No tool call ran.</p>' : ''}</div>`;
}

function renderDiff(diff: string | null): string {
  if (diff === null) return '<h2>Diff</h2><p class="muted" data-testid="diff">file-diff.patch could not be read.</p>';
  if (diff === '') return '<h2>Diff</h2><p class="muted" data-testid="diff">No file changed.</p>';
  const lines = diff.replace(/\n$/, '').split('\n').map((line) => {
    let cls = 'ctx';
    if (line.startsWith('+++') || line.startsWith('---') || line.startsWith('diff ') || line.startsWith('index ')) cls = 'meta';
    else if (line.startsWith('@@')) cls = 'hunk';
    else if (line.startsWith('+')) cls = 'add';
    else if (line.startsWith('-')) cls = 'del';
    return `<span class="${cls}">${escapeHtml(line) || ' '}</span>`;
  });
  return `<h2>Diff</h2>
<div class="diff" data-testid="diff"><pre>${lines.join('')}</pre></div>`;
}

function renderTests(report: ReplayReport): string {
  const e = escapeHtml;
  const t = report.chain.testResults;
  if (t === null) return '<h2>Tests</h2><p class="muted" data-testid="test-results">test-results.json could not be read.</p>';
  if (t.status === 'not_run') return `<h2>Tests</h2><div data-testid="test-results">${badge('not_run')} ${e(t.reason)}</div>`;
  const rows = t.tests.map((x) => `<tr><td>${e(x.name)}</td><td>${badge(x.status)}</td></tr>`).join('');
  const c = t.counts;
  return `<h2>Tests</h2>
<div data-testid="test-results"><p><code>${e(t.command.join(' '))}</code> exited ${t.exitCode} in ${e(formatDuration(t.durationMs))}: <strong>${c.passed}</strong> passed, <strong>${c.failed}</strong> failed, <strong>${c.skipped}</strong> skipped of ${c.total}.</p>${t.incomplete === undefined ? '' : `
<p data-testid="tests-incomplete">${badge('incomplete')} The run did not complete: ${e(describeTestShortfall(t.incomplete))}.</p>`}
<table><thead><tr><th>Test</th><th>Outcome</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

function renderApproval(report: ReplayReport): string {
  const e = escapeHtml;
  const a = report.chain.approval;
  if (a === null) return '<h2>Approval</h2><p class="muted" data-testid="approval">approval.json could not be read.</p>';
  const head = `<p>Status ${badge(a.status, 'approval-status')}</p>`;
  if (a.request === null) {
    return `<h2>Approval</h2><div data-testid="approval">${head}<p>${e(a.notRequestedReason ?? 'No approval was requested, and no reason was recorded.')}</p></div>`;
  }
  const r = a.request;
  const recomputed = computeActionHash(r);
  const diffOk = report.chain.diff?.sha256 === r.diffSha256;
  const prOk = report.chain.prSummary?.sha256 === r.prTextSha256;
  const mark = (ok: boolean): string => (ok ? badge('ok') : badge('bad'));
  const resolution =
    a.resolution === null
      ? '<dt>Resolution</dt><dd class="muted">none</dd>'
      : `<dt>Approver</dt><dd>${e(a.resolution.approver)}</dd><dt>Decision</dt><dd>${badge(a.resolution.decision)}</dd><dt>Reason</dt><dd>${e(a.resolution.reason)}</dd><dt>Decided</dt><dd class="mono">${e(a.resolution.decidedAt)}</dd>`;
  return `<h2>Approval</h2>
<div data-testid="approval">${head}<dl><dt>Request</dt><dd><code>${e(r.approvalId)}</code> from decision <code>${e(r.decisionId)}</code></dd>
<dt>Action</dt><dd>open a PR on <code>${e(r.action.repository)}</code>: <code>${e(r.action.base)}</code> ← <code>${e(r.action.head)}</code></dd>
<dt>Requested by</dt><dd>${e(r.requestedBy)} at <span class="mono">${e(r.requestedAt)}</span></dd><dt>Expires</dt><dd class="mono">${e(r.expiresAt)}</dd>
<dt>Action hash</dt><dd class="mono">${e(r.actionHash)} ${mark(recomputed === r.actionHash)}</dd>
<dt>Diff hash</dt><dd class="mono">${e(r.diffSha256)} ${mark(diffOk)}</dd><dt>PR text hash</dt><dd class="mono">${e(r.prTextSha256)} ${prOk ? badge('ok') : a.status === 'approved' ? badge('bad') : '<span class="muted">(no PR was opened)</span>'}</dd>
${resolution}</dl></div>`;
}

function renderPr(report: ReplayReport): string {
  const pr = report.chain.prSummary;
  if (pr === null) return '<h2>PR</h2><p class="muted" data-testid="pr-summary">pr-summary.md could not be read.</p>';
  return `<h2>PR</h2><pre class="text" data-testid="pr-summary">${escapeHtml(pr.text)}</pre>`;
}

function renderProof(report: ReplayReport): string {
  const e = escapeHtml;
  const m = report.chain.manifest;
  return `<h2>Proof</h2>
<dl data-testid="proof"><dt>Bundle</dt><dd class="mono">${e(report.dir)}</dd><dt>Signer</dt><dd class="mono">${e(report.keyId ?? 'unknown')}${report.signerPinned ? ' (pinned)' : ' (not pinned)'}</dd>
<dt>Created</dt><dd class="mono">${e(m?.createdAt ?? 'unknown')}</dd><dt>Replay link</dt><dd class="mono">${e(report.chain.replayLink?.trim() ?? 'none')}</dd></dl>`;
}

// What the Proof says was redacted before signing; shown only when a record says so.
function renderRedactions(report: ReplayReport): string {
  if (report.redactions.length === 0) return '';
  const e = escapeHtml;
  const rows = report.redactions.map(
    (r) =>
      `<tr data-testid="redaction"><td class="mono">${e(r.file)}</td><td class="mono">${e(r.ref ?? '')}</td><td>${r.summary.count}</td><td class="mono">${e(r.summary.kinds.join(', '))}</td><td class="mono">${e(r.summary.fields.join(', '))}</td></tr>`,
  );
  return `<h2>Redactions</h2>
<p>Secrets were replaced by <code>[REDACTED:&lt;kind&gt;]</code> before these records were signed; the bundle never held them.</p>
<table data-testid="redactions"><thead><tr><th>File</th><th>Record</th><th>Count</th><th>Kinds</th><th>Fields</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function flaggedRefs(report: ReplayReport): Set<string> {
  const refs = new Set<string>();
  for (const check of report.chainChecks) for (const f of check.findings) for (const r of f.refs) refs.add(r);
  return refs;
}

function truncate(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
