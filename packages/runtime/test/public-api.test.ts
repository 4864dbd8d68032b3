import { expect, test } from 'vitest';
import * as runtime from '@lumenflow/runtime';

test('the runtime package exports exactly its documented API', () => {
  expect(Object.keys(runtime).sort()).toEqual(
    [
      'BASELINE_AUTHOR',
      'RUNTIME_VERSION',
      'RuntimeError',
      'TEST_COMMAND',
      'buildDiffCommand',
      'buildGitEnv',
      'createRuntime',
      'createScriptedPlanner',
      'deriveRuntimeLabels',
      'describeStepInput',
      'executeStep',
      'fixAdd',
      'hashHostname',
      'isWorkspaceUnchanged',
      'parseTapResults',
      'prepareWorkspace',
      'readHostFacts',
      'runGit',
      'scopeOfStep',
    ].sort(),
  );
});
