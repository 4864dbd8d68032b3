import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { createScriptedPlanner } from '../scripted-planner.js';
import type { AgentStep, StepObservation } from '../scripted-planner.js';
import { lazyJsonSchemaValidator } from './lazy-validator.js';

/** The scripted agent's MCP client name; Proof names it as the agent. */
export const SCRIPTED_AGENT_NAME = 'scripted-calc-fixer';

/**
 * The deterministic scripted agent as a real MCP client: it connects over
 * `transport`, reads the instructions, and drives the governed tools through
 * the same server any agent uses. It stops at the first failed or refused
 * call (other than a test run) without calling `finish`.
 *
 * @param timeoutMs how long one call may take before the client gives up (the tool host has its own bound).
 */
export async function runScriptedAgent(transport: Transport, opts: { timeoutMs: number }): Promise<void> {
  const client = new Client({ name: SCRIPTED_AGENT_NAME, version: '1.0.0' }, { jsonSchemaValidator: lazyJsonSchemaValidator() });
  await client.connect(transport);
  try {
    // The planner knows one fix; the baseline its git_diff step names is the runtime's to fill in.
    const planner = createScriptedPlanner({ baselineCommit: '0'.repeat(40) });
    const observations: StepObservation[] = [];
    for (let step = planner.next(observations); step !== undefined; step = planner.next(observations)) {
      const result = await client.callTool({ name: step.tool, arguments: argumentsOf(step) }, undefined, { timeout: opts.timeoutMs });
      const text = Array.isArray(result.content) ? result.content.map((c: { type: string; text?: string }) => (c.type === 'text' ? (c.text ?? '') : '')).join('') : '';
      const failed = result.isError === true;
      observations.push({ step, status: failed ? 'failed' : 'succeeded', ...(step.tool === 'read_file' && !failed ? { text } : {}) });
      if (failed && step.tool !== 'run_tests') return;
    }
    await client.callTool(
      { name: 'finish', arguments: { title: 'Fix add in calc', body: 'add(a, b) subtracted; it now adds. The tests pass.' } },
      undefined,
      { timeout: opts.timeoutMs },
    );
  } finally {
    await client.close();
  }
}

// The MCP arguments of a step: what an agent sends, nothing the runtime fills in.
function argumentsOf(step: AgentStep): Record<string, unknown> {
  const { tool: _tool, ...rest } = step;
  if (step.tool === 'git_diff' || step.tool === 'run_tests') return {};
  return rest;
}
