import type { Explanation } from './evaluate.js';

/** Renders an explanation as plain text for an operator's terminal. */
export function formatExplanation(explanation: Explanation): string {
  const d = explanation.decision;
  const lines: string[] = [];
  lines.push(`scope     ${d.scope.kind}:${d.scope.target}`);
  lines.push(`effect    ${d.effect.toUpperCase()}`);
  lines.push(`decided   ${d.decidingRuleId}`);
  lines.push(`reason    ${d.reason}`);
  for (const layer of explanation.layers) {
    lines.push(`${layer.layer === 'cloud' ? 'cloud   ' : 'local   '}  ${layer.fileName} (${layer.ruleCount} rules, ${layer.digest})`);
  }
  lines.push(`digest    ${d.policyDigest}`);
  for (const note of explanation.notes) lines.push(`note      ${note}`);
  for (const warning of d.warnings) lines.push(`WARNING   ${warning}`);
  for (const check of explanation.checks) {
    lines.push('');
    const outcome = check.effect === null ? 'no effect' : `${check.effect} by ${check.decidingRuleId ?? '-'}`;
    lines.push(`check: ${check.label} [${check.scope.kind} ${check.scope.target}]${check.mode === 'tighten-only' ? ' (tighten-only)' : ''} -> ${outcome}`);
    if (check.considered.length === 0) {
      lines.push(`  (no rules considered: ${check.reason})`);
      continue;
    }
    for (const rule of check.considered) {
      const mark = rule.matched ? (rule.counted ? (rule.id === check.decidingRuleId ? '=>' : '+ ') : '~ ') : '  ';
      const status = rule.matched ? (rule.counted ? 'matched' : 'matched, not counted') : 'no match';
      lines.push(`  ${mark} [${rule.layer}] ${rule.id} ${rule.effect} ${rule.match}: ${status}${rule.note === undefined ? '' : ` (${rule.note})`}`);
    }
  }
  lines.push('');
  lines.push('legend: => decided, + matched, ~ matched but could not count here');
  return `${lines.join('\n')}\n`;
}
