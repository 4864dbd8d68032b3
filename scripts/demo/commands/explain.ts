import { relative, resolve } from 'node:path';
import { PolicyError, explainScope, formatExplanation, loadRulesFile, parseScope } from '@lumenflow/policy';
import type { PolicyLayers } from '@lumenflow/policy';
import { createWorkspaceContext } from '@lumenflow/runtime';
import type { ExplainOptions } from '../options.js';
import { CliError, EXIT } from '../cli-error.js';
import { REPO_ROOT } from '../paths.js';

/** The Cloud policy `--explain` uses when `--policy` is not given. */
const DEFAULT_CLOUD_POLICY = resolve(REPO_ROOT, 'scripts', 'demo', 'rules', 'cloud-policy.yaml');

/**
 * `--explain '<scope>' [--policy <file>] [--local-policy <file>] [--json]`:
 * prints which rules matched the scope, which decided, and why. Exit 0 whatever
 * the effect; 2 (via CliError) for a bad scope or rules file.
 */
export async function runExplainCommand(scopeText: string, options: ExplainOptions): Promise<number> {
  try {
    const scope = parseScope(scopeText);
    const cloud = await loadRulesFile(options.policy ?? displayPath(DEFAULT_CLOUD_POLICY));
    const layers: PolicyLayers = options.localPolicy === undefined ? { cloud } : { cloud, local: await loadRulesFile(options.localPolicy, { local: true }) };
    // Judge paths as the runtime would: against the current directory, with symlinks followed.
    const explanation = explainScope(layers, scope, createWorkspaceContext(process.cwd()));
    process.stdout.write(options.json === true ? `${JSON.stringify(explanation, null, 2)}\n` : formatExplanation(explanation));
    return EXIT.ok;
  } catch (error) {
    if (error instanceof PolicyError) throw new CliError(error.code, error.message, EXIT.usage, { cause: error });
    throw error;
  }
}

function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') ? path : rel;
}
