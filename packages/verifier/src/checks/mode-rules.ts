// Family: the mode's rules, judged from the proof records the artifact pass parsed.
// policy-blocked: no tool call ran and a deny is recorded; happy: tool calls ran and Cloud denied nothing.
import { DECISIONS_FILE, TOOL_CALLS_FILE, artifactPass } from './artifact-pass.js';
import { NEEDS_MANIFEST } from './artifacts.js';
import { failed, notRun, passed } from './types.js';
import type { BundleContext, Outcome } from './types.js';

export async function checkModeRules(ctx: BundleContext): Promise<Outcome> {
  const { manifest } = ctx;
  if (!manifest) return notRun(NEEDS_MANIFEST);
  const { decisions, toolCalls, facts } = await artifactPass(ctx, manifest);
  for (const reader of [decisions, toolCalls]) {
    if (!reader.done) return notRun(`${reader.fileName} could not be read`);
    if (reader.error) return failed('MODE_RECORD_INVALID', reader.error);
  }
  if (manifest.mode === 'policy-blocked') {
    if (toolCalls.bytes !== 0) return failed('MODE_RULE_VIOLATED', `policy-blocked: ${TOOL_CALLS_FILE} must be empty (0 bytes)`);
    if (!facts.deny) return failed('MODE_RULE_VIOLATED', `policy-blocked: ${DECISIONS_FILE} holds no deny decision`);
    return passed('policy-blocked: no tool call ran, and a deny decision is recorded');
  }
  if (toolCalls.lines === 0) return failed('MODE_RULE_VIOLATED', `happy: ${TOOL_CALLS_FILE} holds no tool call`);
  if (facts.cloudDeny) return failed('MODE_RULE_VIOLATED', `happy: ${DECISIONS_FILE} holds a Cloud deny decision`);
  return passed(`happy: ${toolCalls.lines} tool calls, no Cloud deny`);
}
