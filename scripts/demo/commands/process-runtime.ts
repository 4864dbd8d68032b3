// `--runtime process`: the same chain as runChain, but Cloud serves Connections
// on 127.0.0.1 and the runtime is a separate OS process (`lumenflow runtime
// connect`) that enrolls with a one-time token, generates its own key, and
// reaches Cloud only over signed HTTP. Wiring only; nothing here decides an outcome.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudError, createCloud, createEnrollToken, createHttpCloudEndpoint, openConnectionsServer } from '@lumenflow/cloud';
import type { RunResult } from '@lumenflow/cloud';
import type { RulesDocument } from '@lumenflow/policy';
import { canonicalize, createSequentialIds, systemClock } from '@lumenflow/protocol';
import { loadOrCreateSigningKey } from '@lumenflow/verifier';
import { CliError, EXIT } from '../cli-error.js';
import { REPO_ROOT } from '../paths.js';
import { timeoutsToEnv } from '../timeouts.js';
import { DEMO_PATHS, EXTERNAL_AGENT, buildRunRequest } from './chain.js';
import type { ChainInputs } from './chain.js';

/**
 * Runs an Ask with the runtime as a child process over loopback Connections.
 * The runtime's key is its own (made in its state directory); `inputs.runtimeKey` is not used.
 *
 * @throws {CliError} RUNTIME_PROCESS_FAILED when the runtime process exits or loses its lease;
 *   the chain's own errors otherwise.
 */
export async function runChainOverConnections(inputs: ChainInputs): Promise<RunResult> {
  const log = inputs.log ?? (() => undefined);
  // --agent: the runtime process learns the command line from its local rules file, under the same name as in process.
  const localDocument = withExternalAgent(inputs);
  const work = await mkdtemp(join(tmpdir(), 'lumenflow-connections-'));
  const dataDir = join(work, 'cloud');
  const stateDir = join(work, 'runtime');
  const cloudKey = (await loadOrCreateSigningKey({ defaultPath: join(dataDir, 'cloud-key.pem'), env: {} })).key;
  // Requests are checked against wall time; the chain keeps its own (possibly fixed) clock for the Proof.
  const server = await openConnectionsServer({ dataDir, signingKey: cloudKey, clock: systemClock, log });
  const endpoint = createHttpCloudEndpoint(server);
  const controller = new AbortController();
  const onOuterAbort = (): void => controller.abort();
  inputs.signal?.addEventListener('abort', onOuterAbort, { once: true });
  let failure: CliError | undefined;
  const failWith = (code: string, message: string): void => {
    failure ??= new CliError(code, message, EXIT.usage);
    controller.abort();
  };
  server.onWorkEnded((ended) => {
    if (ended.state === 'failed') failWith('RUNTIME_PROCESS_FAILED', `the runtime lost its lease on Ask ${ended.claim?.askId ?? ''} (${ended.outcome ?? 'failed'})`);
  });
  let child: ReturnType<typeof spawn> | undefined;
  try {
    const { url } = await server.listen(0);
    const cloud = createCloud({
      endpoint,
      clock: inputs.clock,
      ids: createSequentialIds(),
      signingKey: inputs.signingKey,
      rules: inputs.cloudRules,
      log,
      ...(inputs.knownSecrets === undefined ? {} : { knownSecrets: inputs.knownSecrets }),
    });
    const { token } = await createEnrollToken({ dataDir, clock: systemClock, ttlMs: 60_000 });
    const args = ['--import', 'tsx', join(REPO_ROOT, 'scripts/lumenflow.ts'), 'runtime', 'connect', '--cloud', url, '--enroll-token', token, '--state-dir', stateDir, '--workspace', inputs.fixtureDir, '--repository', inputs.repository ?? DEMO_PATHS.fixtureRepository, '--log-level', 'silent'];
    // --repo: the directory must be a git repository; the runtime refuses any other path (REPO_NOT_GIT), as in process.
    if (inputs.workspaceSource === 'checkout') args.push('--workspace-source', 'checkout');
    if ((await inputs.sandbox)?.info.kind === 'none') args.push('--sandbox', 'off');
    if (localDocument !== undefined) {
      const localPath = join(work, 'runtime-local.json');
      await writeFile(localPath, canonicalize(localDocument as never));
      args.push('--local-policy', localPath);
    }
    if (inputs.agentCommand !== undefined) args.push('--default-agent', EXTERNAL_AGENT);
    // The runtime process applies the same bounds on enrollment and each tool call as an in-process one.
    child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...process.env, ...timeoutsToEnv(inputs.timeouts) }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = `${stderr}${chunk.toString()}`.slice(-2000);
    });
    child.once('exit', (code) => {
      failWith('RUNTIME_PROCESS_FAILED', `the runtime process exited (${code ?? 'signal'}) before the run ended${stderr === '' ? '' : `: ${stderr.trim().split('\n').pop() ?? ''}`}`);
    });
    log('connections.runtime-started', { url, pid: child.pid ?? null });
    await cloud.waitForRuntime(inputs.ask.runtimeLabels, controller.signal, inputs.timeouts?.enrollMs);
    return await cloud.run(buildRunRequest(inputs, controller.signal, inputs.timeouts?.sessionMs));
  } catch (error) {
    // Our own abort (lease lost, runtime gone) explains the ABORTED the chain reports; the user's Ctrl-C does not.
    if (failure !== undefined && !inputs.signal?.aborted && error instanceof CloudError && error.code === 'ABORTED') throw failure;
    throw error;
  } finally {
    inputs.signal?.removeEventListener('abort', onOuterAbort);
    if (child !== undefined && child.exitCode === null) {
      child.removeAllListeners('exit');
      const exited = new Promise((r) => child?.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    endpoint.close();
    await server.close();
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * The local rules document the runtime process reads: the given one, plus an
 * `external` agent entry for `--agent` (network `none`, as in process).
 *
 * @throws {CliError} USAGE when the file already names an agent `external`.
 */
function withExternalAgent(inputs: ChainInputs): RulesDocument | undefined {
  const document = inputs.localRules?.document;
  if (inputs.agentCommand === undefined) return document;
  if (document?.agents?.[EXTERNAL_AGENT] !== undefined) {
    throw new CliError('USAGE', `--agent runs as agent "${EXTERNAL_AGENT}", which the local rules file already names; rename that entry or drop --agent`, EXIT.usage);
  }
  const base: RulesDocument = document ?? { version: 1, rules: [] };
  return { ...base, agents: { ...base.agents, [EXTERNAL_AGENT]: { command: [...inputs.agentCommand] } } };
}
