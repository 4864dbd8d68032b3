import { describe, expect, it } from 'vitest';
import { RESERVED_RULE_IDS, analyzeShellCommand, evaluateScope, explainScope, parseScope } from '@lumenflow/policy';
import type { Effect } from '@lumenflow/protocol';
import { rule, ruleSet } from './helpers.js';

// Generous shell rules on purpose: the fs rules must still hold.
const layers = {
  cloud: ruleSet([
    rule('allow', { kind: 'fs.read', path: 'src/**' }, 'org.src.read'),
    rule('allow', { kind: 'fs.write', path: 'src/**' }, 'org.src.write'),
    rule('deny', { kind: 'fs.read', path: '**/.env' }, 'org.env.read'),
    rule('deny', { kind: 'fs.write', path: '**/.env' }, 'org.env.write'),
    rule('deny', { kind: 'fs.read', path: '**/*.pem' }, 'org.pem.read'),
    rule('allow', { kind: 'shell.exec', program: 'cat' }, 'org.sh.cat'),
    rule('allow', { kind: 'shell.exec', program: 'cp' }, 'org.sh.cp'),
    rule('allow', { kind: 'shell.exec', program: 'grep' }, 'org.sh.grep'),
    rule('allow', { kind: 'shell.exec', program: 'sh' }, 'org.sh.sh'),
    rule('allow', { kind: 'shell.exec', program: 'bash' }, 'org.sh.bash'),
    rule('allow', { kind: 'shell.exec', program: 'env' }, 'org.sh.env'),
    rule('allow', { kind: 'shell.exec', program: 'node' }, 'org.sh.node-any'),
    rule('allow', { kind: 'shell.exec', program: 'node', args: ['--test'] }, 'org.sh.node-test'),
    rule('allow', { kind: 'shell.exec', program: 'node', args: ['-e', 'console.log(1)'] }, 'org.sh.node-e-literal'),
    rule('allow', { kind: 'shell.exec', program: 'node', args: ['-e', { regex: '.*' }] }, 'org.sh.node-e-any'),
    rule('allow', { kind: 'shell.exec', program: 'curl' }, 'org.sh.curl'),
    rule('allow', { kind: 'shell.exec', program: 'git', args: ['diff', { regex: '[0-9a-f]{40}' }] }, 'org.sh.git-diff'),
    rule('allow', { kind: 'shell.exec', program: 'git', args: ['show', { regex: '.+' }] }, 'org.sh.git-show'),
  ]),
};

const CASES: Array<{ command: string; effect: Effect; by: string; why: string }> = [
  { command: 'cat src/calc.ts', effect: 'allow', by: 'org.sh.cat', why: 'a mapped read of an allowed file' },
  { command: 'cat .env', effect: 'deny', by: 'org.env.read', why: 'cat .env is a read of .env' },
  { command: 'cat src/../.env', effect: 'deny', by: 'org.env.read', why: 'normalised operand' },
  { command: 'cat ./.ENV', effect: 'deny', by: 'org.env.read', why: 'case variant operand' },
  { command: 'cat docs/readme.md', effect: 'deny', by: RESERVED_RULE_IDS.defaultDeny, why: 'a read nothing allows' },
  { command: 'cat /etc/passwd', effect: 'deny', by: RESERVED_RULE_IDS.outsideWorkspace, why: 'an operand outside the workspace' },
  { command: 'cat -- .env', effect: 'deny', by: 'org.env.read', why: 'after --' },
  { command: 'cp .env src/leak.txt', effect: 'deny', by: 'org.env.read', why: 'cp reads its source' },
  { command: 'cp src/a.ts .env', effect: 'deny', by: 'org.env.write', why: 'cp writes its destination' },
  { command: 'grep -r TOKEN .env', effect: 'deny', by: 'org.env.read', why: 'grep reads its files' },
  { command: 'grep TOKEN src/a.ts', effect: 'allow', by: 'org.sh.grep', why: 'the pattern is not a file' },
  { command: "sh -c 'cat .env'", effect: 'deny', by: 'org.env.read', why: 'a simple script is mapped like the command it runs' },
  { command: "bash -lc 'cat src/a.ts'", effect: 'allow', by: 'org.sh.bash', why: 'a simple script to an allowed read' },
  { command: "sh -c 'cat src/a.ts; cat .env'", effect: 'deny', by: 'org.env.read', why: 'shell syntax is opaque, and words in it still meet deny rules' },
  { command: "sh -c 'cat src/a.ts && true'", effect: 'deny', by: RESERVED_RULE_IDS.opaqueCommand, why: 'shell syntax needs an exact literal rule' },
  { command: "sh -c 'cat $(echo .e)nv'", effect: 'deny', by: RESERVED_RULE_IDS.opaqueCommand, why: 'command substitution is opaque' },
  { command: "sh -c 'cat \"$F\"'", effect: 'deny', by: RESERVED_RULE_IDS.opaqueCommand, why: 'expansion inside double quotes is opaque' },
  { command: "sh -c 'sh -c \"cat .env\"'", effect: 'deny', by: 'org.env.read', why: 'nested shells are unwrapped' },
  { command: 'sh', effect: 'deny', by: RESERVED_RULE_IDS.opaqueCommand, why: 'a shell reading commands from stdin' },
  { command: 'env FOO=1 cat .env', effect: 'deny', by: 'org.env.read', why: 'env runs the rest as a command' },
  { command: 'env -S "cat src/a.ts"', effect: 'deny', by: RESERVED_RULE_IDS.opaqueCommand, why: 'env -S re-splits its argument' },
  { command: 'node -e "require(\'fs\').readFileSync(\'.env\')"', effect: 'deny', by: 'org.env.read', why: 'inline code naming .env' },
  { command: 'node -e "console.log(process.env)"', effect: 'deny', by: RESERVED_RULE_IDS.opaqueCommand, why: 'inline code, only a regex rule matches' },
  { command: 'node -e "console.log(1)"', effect: 'allow', by: 'org.sh.node-e-literal', why: 'inline code spelled out literally by a rule' },
  { command: 'node --test', effect: 'allow', by: 'org.sh.node-test', why: 'a rule listing the arguments' },
  { command: 'node script.js', effect: 'deny', by: RESERVED_RULE_IDS.unmappedProgram, why: 'an interpreter allowed only with any arguments' },
  { command: 'node src/tool.js .env', effect: 'deny', by: 'org.env.read', why: 'a script argument naming .env' },
  { command: 'curl https://example.com', effect: 'deny', by: RESERVED_RULE_IDS.unmappedProgram, why: 'an unknown program allowed only with any arguments' },
  { command: 'git diff 0123456789abcdef0123456789abcdef01234567', effect: 'allow', by: 'org.sh.git-diff', why: 'an argument pattern' },
  { command: 'git diff 0123456789abcdef0123456789abcdef01234567x', effect: 'deny', by: RESERVED_RULE_IDS.defaultDeny, why: 'regexes are anchored' },
  { command: 'git show HEAD:.env', effect: 'deny', by: 'org.env.read', why: 'a rev:path argument naming .env' },
  { command: 'git show HEAD:keys/server.pem', effect: 'deny', by: 'org.pem.read', why: 'a rev:path argument naming a key' },
  { command: '/bin/cat src/a.ts', effect: 'deny', by: RESERVED_RULE_IDS.defaultDeny, why: 'a rule for cat does not cover /bin/cat' },
  { command: '/bin/cat .env', effect: 'deny', by: 'org.env.read', why: 'but /bin/cat is still mapped as cat' },
  { command: 'CAT .env', effect: 'deny', by: 'org.env.read', why: 'program names are mapped case-insensitively' },
  { command: 'cat src/a.ts ; cat .env', effect: 'deny', by: 'org.env.read', why: 'no shell runs the words, and ; is just an argument' },
];

describe('shell.exec cannot get round fs rules', () => {
  for (const c of CASES) {
    it(`${c.command}: ${c.why}`, () => {
      const decision = evaluateScope(layers, parseScope(`shell.exec:${c.command}`), { workspaceRoot: '/w' });
      expect(decision.effect, `${c.why}: ${decision.reason}`).toBe(c.effect);
      expect(decision.decidingRuleId, `${c.why}: ${decision.reason}`).toBe(c.by);
    });
  }

  it('names the touched path in the reason when a derived check decides', () => {
    const decision = evaluateScope(layers, parseScope('shell.exec:cat .env'));
    expect(decision.reason).toContain('.env');
    expect(decision.matchedRuleIds).toEqual(['org.sh.cat', 'org.env.read', 'org.env.write']);
  });

  it('explains the derived checks', () => {
    const explanation = explainScope(layers, parseScope("shell.exec:sh -c 'cat .env'"));
    const labels = explanation.checks.map((c) => c.label);
    expect(labels[0]).toBe('requested scope');
    expect(labels.some((l) => l.startsWith('reads .env'))).toBe(true);
  });

  it('a command line with a NUL byte is denied by a reserved id', () => {
    const decision = evaluateScope(layers, { kind: 'shell.exec', program: 'cat', args: ['src/a.ts\0'] });
    expect(decision.decidingRuleId).toBe(RESERVED_RULE_IDS.invalidInput);
  });
});

describe('analyzeShellCommand', () => {
  it('maps reads and writes of known programs', () => {
    expect(analyzeShellCommand('cp', ['a', 'b', 'c']).paths.map((p) => `${p.kind} ${p.path}`)).toEqual(['fs.read a', 'fs.read b', 'fs.write c', 'fs.write c/a', 'fs.write c/b']);
    expect(analyzeShellCommand('cp', ['-r', 'a', 'b', 'c']).mapping).toBe('unmapped');
    expect(analyzeShellCommand('sed', ['-i', 's/a/b/', 'f.txt']).paths).toMatchObject([{ kind: 'fs.write', path: 'f.txt' }]);
    expect(analyzeShellCommand('head', ['-n', '5', 'f.txt']).paths).toMatchObject([{ kind: 'fs.read', path: 'f.txt' }]);
    expect(analyzeShellCommand('dd', ['if=a', 'of=b']).mapping).toBe('unmapped');
  });

  it('classifies programs it cannot map', () => {
    expect(analyzeShellCommand('cat', ['a']).mapping).toBe('mapped');
    expect(analyzeShellCommand('make', ['all']).mapping).toBe('unmapped');
    expect(analyzeShellCommand('python3', ['-c', 'print(1)']).mapping).toBe('opaque');
    expect(analyzeShellCommand('sed', ['w out', 'f']).mapping).toBe('opaque');
    expect(analyzeShellCommand('timeout', ['5', 'cat', '.env']).paths).toMatchObject([{ kind: 'fs.read', path: '.env' }]);
  });
});
