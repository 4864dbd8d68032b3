import { describe, expect, it } from 'vitest';
import { RESERVED_RULE_IDS, evaluateScope, parseScope } from '@lumenflow/policy';
import type { Effect } from '@lumenflow/protocol';
import { rule, ruleSet } from './helpers.js';

// Each program is allowed with any arguments, so only the mapping of its
// options stands between the command and the fs rules. Every case below was
// an allow before options were mapped: a hidden write, a recursive read that
// reaches .env, a list of names read from a file, or a program run by the tool.
const layers = {
  cloud: ruleSet([
    rule('allow', { kind: 'fs.read', path: '**' }, 'org.read.all'),
    rule('allow', { kind: 'fs.write', path: 'src/**' }, 'org.src.write'),
    rule('deny', { kind: 'fs.read', path: '**/.env*' }, 'org.env.read'),
    rule('deny', { kind: 'fs.write', path: '**/.env*' }, 'org.env.write'),
    ...['sort', 'grep', 'egrep', 'rg', 'cp', 'mv', 'wc', 'du', 'less', 'more', 'bat', 'uniq', 'xxd', 'sha256sum', 'sed', 'diff', 'rm', 'chmod', 'file'].map((program) =>
      rule('allow', { kind: 'shell.exec', program }, `org.sh.${program}`),
    ),
  ]),
};

const CASES: Array<{ command: string; effect: Effect; by: string; why: string }> = [
  { command: 'sort -o package.json src/a.ts', effect: 'deny', by: RESERVED_RULE_IDS.defaultDeny, why: 'sort -o writes its value' },
  { command: 'sort --output=package.json src/a.ts', effect: 'deny', by: RESERVED_RULE_IDS.defaultDeny, why: 'sort --output= writes its value' },
  { command: 'sort -o src/out.txt src/a.ts', effect: 'allow', by: 'org.sh.sort', why: 'sort -o into an allowed file' },
  { command: 'sort --files0-from=src/list', effect: 'deny', by: RESERVED_RULE_IDS.unmappedProgram, why: 'file names read from a file' },
  { command: 'sort --compress-program=./evil src/a.ts', effect: 'deny', by: RESERVED_RULE_IDS.unmappedProgram, why: 'sort runs a helper program' },
  { command: 'wc --files0-from=src/list', effect: 'deny', by: RESERVED_RULE_IDS.unmappedProgram, why: 'file names read from a file' },
  { command: 'du --files0-from src/list', effect: 'deny', by: RESERVED_RULE_IDS.unmappedProgram, why: 'file names read from a file' },
  { command: 'sha256sum -c src/list', effect: 'deny', by: RESERVED_RULE_IDS.unmappedProgram, why: 'checks files named in a list' },
  { command: 'file -f src/list', effect: 'deny', by: RESERVED_RULE_IDS.unmappedProgram, why: 'file names read from a file' },
  { command: 'grep -r TOKEN .', effect: 'deny', by: RESERVED_RULE_IDS.unmappedProgram, why: 'a recursive grep reads .env under .' },
  { command: 'grep -rn TOKEN', effect: 'deny', by: RESERVED_RULE_IDS.unmappedProgram, why: 'recursive grep without a path searches the whole workspace' },
  { command: 'grep --directories=recurse TOKEN src', effect: 'deny', by: RESERVED_RULE_IDS.unmappedProgram, why: 'recursion spelt long' },
  { command: 'grep -R TOKEN src', effect: 'deny', by: RESERVED_RULE_IDS.unmappedProgram, why: 'recursion following symlinks' },
  { command: 'grep -f .env src/a.ts', effect: 'deny', by: 'org.env.read', why: 'grep -f reads a pattern file' },
  { command: 'grep -e TOKEN src/a.ts', effect: 'allow', by: 'org.sh.grep', why: 'an explicit pattern is not a file' },
  { command: 'egrep -e TOKEN src/a.ts', effect: 'deny', by: RESERVED_RULE_IDS.unmappedProgram, why: 'egrep is a script around grep, not mapped' },
  { command: 'rg TOKEN', effect: 'deny', by: RESERVED_RULE_IDS.unmappedProgram, why: 'rg recurses by default and can run --pre programs' },
  { command: 'cp -r . src/copy', effect: 'deny', by: RESERVED_RULE_IDS.unmappedProgram, why: 'a recursive copy carries .env along' },
  { command: 'cp -av . src/copy', effect: 'deny', by: RESERVED_RULE_IDS.unmappedProgram, why: 'archive mode in a cluster' },
  { command: 'cp -t docs src/a.ts', effect: 'deny', by: RESERVED_RULE_IDS.defaultDeny, why: 'cp -t writes into its value' },
  { command: 'cp --target-directory=docs src/a.ts', effect: 'deny', by: RESERVED_RULE_IDS.defaultDeny, why: 'cp --target-directory= writes into its value' },
  { command: 'cp src/a.ts src/b.ts', effect: 'allow', by: 'org.sh.cp', why: 'an ordinary copy inside allowed paths' },
  { command: 'cp src/.env.example src/x', effect: 'deny', by: 'org.env.read', why: 'cp still reads its source' },
  { command: 'cp -t src/.env.d src/a.ts', effect: 'deny', by: 'org.env.write', why: 'cp -t writes into a denied directory' },
  { command: 'rm -r src', effect: 'deny', by: RESERVED_RULE_IDS.unmappedProgram, why: 'a recursive removal' },
  { command: 'chmod -R 777 src', effect: 'deny', by: RESERVED_RULE_IDS.unmappedProgram, why: 'a recursive chmod' },
  { command: 'diff -r src src2', effect: 'deny', by: RESERVED_RULE_IDS.unmappedProgram, why: 'a recursive diff' },
  { command: 'uniq src/a.ts package.json', effect: 'deny', by: RESERVED_RULE_IDS.defaultDeny, why: 'uniq writes its second operand' },
  { command: 'xxd src/a.ts package.json', effect: 'deny', by: RESERVED_RULE_IDS.unmappedProgram, why: 'xxd parses its own options; not mapped' },
  { command: 'less src/a.ts', effect: 'deny', by: RESERVED_RULE_IDS.unmappedProgram, why: 'a pager can run commands' },
  { command: 'bat src/a.ts', effect: 'deny', by: RESERVED_RULE_IDS.unmappedProgram, why: 'bat runs a pager' },
  { command: "sed -e '1e id' src/a.ts", effect: 'deny', by: RESERVED_RULE_IDS.opaqueCommand, why: 'sed e runs a command, given with -e' },
  { command: 'sed --expression=1e src/a.ts', effect: 'deny', by: RESERVED_RULE_IDS.opaqueCommand, why: 'sed e, given with --expression=' },
  { command: "sed '1r .env' src/a.ts", effect: 'deny', by: 'org.env.read', why: 'sed r reads a file named inside the script' },
  { command: "sed '1r README.md' src/a.ts", effect: 'deny', by: RESERVED_RULE_IDS.opaqueCommand, why: 'sed r reads a file' },
  { command: 'sed -f src/s.sed src/a.ts', effect: 'deny', by: RESERVED_RULE_IDS.opaqueCommand, why: 'a sed script file can do anything' },
  { command: 'sed -n 1p src/a.ts', effect: 'allow', by: 'org.sh.sed', why: 'a plain print' },
  { command: 'sed s/a/b/g src/a.ts', effect: 'allow', by: 'org.sh.sed', why: 'a plain substitution' },
];

describe('shell options that change what a mapped program touches', () => {
  for (const c of CASES) {
    it(`${c.command}: ${c.why}`, () => {
      const decision = evaluateScope(layers, parseScope(`shell.exec:${c.command}`));
      expect({ effect: decision.effect, by: decision.decidingRuleId }, c.why).toEqual({ effect: c.effect, by: c.by });
    });
  }
});

// `perl -e` was opaque but `perl -ne` only unmapped, so a rule listing its
// arguments by regex could allow inline code that Rules never see into.
describe('inline code behind clustered interpreter flags is opaque', () => {
  const interpreters = ruleSet([
    rule('allow', { kind: 'fs.read', path: 'src/**' }, 'org.src.read'),
    ...['perl', 'python3', 'node', 'ruby'].map((program) =>
      rule('allow', { kind: 'shell.exec', program, args: [{ regex: '-.*' }, { regex: '.*' }, 'src/a.ts'] }, `org.sh.${program}-listed`),
    ),
  ]);
  for (const command of ["perl -ne 'print' src/a.ts", "python3 -Sc 'print(1)' src/a.ts", "node -pe '1' src/a.ts", "ruby -ne 'puts 1' src/a.ts"]) {
    it(command, () => {
      const decision = evaluateScope({ cloud: interpreters }, parseScope(`shell.exec:${command}`));
      expect({ effect: decision.effect, by: decision.decidingRuleId }).toEqual({ effect: 'deny', by: RESERVED_RULE_IDS.opaqueCommand });
    });
  }
  it('a plain option cluster with a script is still only unmapped, so a listing rule allows it', () => {
    expect(evaluateScope({ cloud: interpreters }, parseScope('shell.exec:python3 -Su src/a.ts src/a.ts')).effect).toBe('allow');
  });
});
