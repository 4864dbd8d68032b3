import { describe, expect, it } from 'vitest';
import { RESERVED_RULE_IDS, evaluateScope, parseScope } from '@lumenflow/policy';
import { rule, ruleSet } from './helpers.js';

// Programs Rules cannot map are allowed only by rules that list their
// arguments, and a listed `{ regex: ".*" }` let any word through: `git -C ..`
// or `--test-reporter-destination=/etc/x` reached outside the workspace.
const cloud = ruleSet([
  rule('allow', { kind: 'shell.exec', program: 'git', args: [{ regex: '.*' }, { regex: '.*' }, 'status'] }, 'org.sh.git-any'),
  rule('allow', { kind: 'shell.exec', program: 'node', args: ['--test', { regex: '--test-reporter-destination=.*' }] }, 'org.sh.node-dest'),
  rule('allow', { kind: 'shell.exec', program: 'curl', args: [{ regex: '.*' }] }, 'org.sh.curl'),
  rule('allow', { kind: 'shell.exec', program: '/usr/bin/git', args: ['status'] }, 'org.sh.usr-git'),
  rule('allow', { kind: 'shell.exec', program: 'GIT.EXE', args: ['status'] }, 'org.sh.git-exe'),
  rule('allow', { kind: 'shell.exec', program: 'git', args: ['status'] }, 'org.sh.git-status'),
]);

describe('a command word outside the workspace is refused whatever the rules say', () => {
  const cases: Array<[string, string]> = [
    ['git -C .. status', RESERVED_RULE_IDS.outsideWorkspace],
    ['git -C /etc status', RESERVED_RULE_IDS.outsideWorkspace],
    ['git --git-dir=../other/.git status', RESERVED_RULE_IDS.outsideWorkspace],
    ['node --test --test-reporter-destination=/tmp/report.txt', RESERVED_RULE_IDS.outsideWorkspace],
    ['node --test --test-reporter-destination=../report.txt', RESERVED_RULE_IDS.outsideWorkspace],
  ];
  for (const [command, by] of cases) {
    it(command, () => {
      const decision = evaluateScope({ cloud }, parseScope(`shell.exec:${command}`), { workspaceRoot: '/w' });
      expect({ effect: decision.effect, by: decision.decidingRuleId }).toEqual({ effect: 'deny', by });
    });
  }

  it('words inside the workspace, and URLs, are still allowed', () => {
    for (const command of ['git -C src status', 'node --test --test-reporter-destination=out/report.txt', 'curl https://example.com/x']) {
      expect(evaluateScope({ cloud }, parseScope(`shell.exec:${command}`), { workspaceRoot: '/w' }).effect, command).toBe('allow');
    }
  });
});

// A local deny on `git` did not stop `/usr/bin/git` that the Cloud allows:
// deny and approval_required rules compared the program's full spelling.
describe('a tightening rule on a program name covers every path to it', () => {
  const local = ruleSet([
    rule('deny', { kind: 'shell.exec', program: 'git' }, 'runtime.sh.no-git'),
  ]);

  for (const program of ['/usr/bin/git', 'GIT.EXE', 'git']) {
    it(program, () => {
      expect(evaluateScope({ cloud }, { kind: 'shell.exec', program, args: ['status'] }).effect, 'the Cloud alone allows it').toBe('allow');
      const decision = evaluateScope({ cloud, local }, { kind: 'shell.exec', program, args: ['status'] });
      expect({ effect: decision.effect, by: decision.decidingRuleId }).toEqual({ effect: 'deny', by: 'runtime.sh.no-git' });
    });
  }

  it('an allow stays exact: a rule for /usr/bin/git does not allow /opt/git', () => {
    expect(evaluateScope({ cloud }, { kind: 'shell.exec', program: '/opt/git', args: ['status'] }).decidingRuleId).toBe(RESERVED_RULE_IDS.defaultDeny);
  });
});
