import { expect, test } from 'vitest';
import * as runtime from '@lumenflow/runtime';

test('the runtime package exports its session and tool API', () => {
  for (const name of [
    'BASELINE_AUTHOR',
    'DEFAULT_ENROLL_TIMEOUT_MS',
    'DEFAULT_TOOL_TIMEOUT_MS',
    'RUNTIME_VERSION',
    'RuntimeError',
    'TEST_COMMAND',
    'buildDiffCommand',
    'buildGitEnv',
    'createRuntime',
    'createScriptedPlanner',
    'createWorkspaceContext',
    'deriveRuntimeLabels',
    'describeStepInput',
    'executeStep',
    'fixAdd',
    'hashHostname',
    'openAgentEgress',
    'startEgressProxy',
    'isWorkspaceUnchanged',
    'parseTapResults',
    'prepareWorkspace',
    'readHostFacts',
    'runGit',
    'scopeOfStep',
  ]) {
    expect(runtime, name).toHaveProperty(name);
  }
});
