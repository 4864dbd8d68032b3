import { describe, expect, it } from 'vitest';
import { RESERVED_RULE_IDS, analyzeShellCommand, evaluateScope, parseScope } from '@lumenflow/policy';
import type { Effect } from '@lumenflow/protocol';
import { rule, ruleSet } from './helpers.js';

// Issue 9: programs the shell analysis claimed to understand hid writes and
// commands in their own syntax, and each was decided `allow` under rules that
// allow only reads and `src/**` writes. Every program is allowed here with any
// arguments, so only the analysis stands between the command and the fs rules.
const PROGRAMS = [
  'sed', 'sort', 'uniq', 'xxd', 'cp', 'mv', 'install', 'file', 'tee', 'touch', 'truncate', 'mkdir', 'rmdir', 'rm', 'head', 'tail', 'cat', 'grep',
  'ls', 'wc', 'cut', 'sha256sum', 'env', 'timeout', 'time', 'nice', 'stdbuf', './cat', 'src/sed', 'diff', 'dd', 'ln', 'chmod',
];
const layers = {
  cloud: ruleSet([
    rule('allow', { kind: 'fs.read', path: '**' }, 'org.read.all'),
    rule('allow', { kind: 'fs.write', path: 'src/**' }, 'org.src.write'),
    rule('deny', { kind: 'fs.write', path: '**/*.bak' }, 'org.no-bak'),
    ...PROGRAMS.map((program, n) => rule('allow', { kind: 'shell.exec', program }, `org.sh.p${n}`)),
  ]),
};
const DEFAULT = RESERVED_RULE_IDS.defaultDeny;
const UNMAPPED = RESERVED_RULE_IDS.unmappedProgram;
const OPAQUE = RESERVED_RULE_IDS.opaqueCommand;

const DENIED: Array<{ command: string; by: string; why: string }> = [
  // The issue's own spellings.
  { command: "sed 's/x/y/;1e touch P;s/c/d/' src/a.ts", by: OPAQUE, why: 'an e command between two s commands runs a program' },
  { command: "sed -e 's/a/b/w docs/x.md' src/a.ts", by: OPAQUE, why: 'the w flag of s writes a file' },
  { command: 'sed -Ei s/a/b/ docs/x.md', by: DEFAULT, why: '-i at the end of a cluster edits in place' },
  { command: 'sed -ni 1p docs/x.md', by: DEFAULT, why: '-i after -n in a cluster' },
  { command: "sed -i'../*' s/a/b/ src/a.ts", by: UNMAPPED, why: 'a backup suffix with a slash or * names a file elsewhere' },
  { command: 'sort -uo docs/out.txt src/a.ts', by: DEFAULT, why: '-o at the end of a cluster takes the next word' },
  { command: 'uniq -f 1 src/a.ts docs/out.txt', by: DEFAULT, why: 'the value of -f is not the input, so docs/out.txt is the output' },
  { command: 'xxd -c 16 src/a.ts docs/out.txt', by: UNMAPPED, why: 'xxd is not mapped: its own option syntax' },
  { command: 'cp -vt docs src/a.ts', by: DEFAULT, why: '-t at the end of a cluster' },
  { command: 'install -vt docs src/a.ts', by: UNMAPPED, why: 'install is not mapped (strip programs, -D parents)' },
  { command: 'file -C -m src/magic', by: UNMAPPED, why: 'file -C compiles a magic file next to it; file is not mapped' },
  // Other spellings of the same writes.
  { command: 'sed -e 1R\\ docs/x.md src/a.ts', by: OPAQUE, why: 'R reads a file' },
  { command: "sed '1r docs/x.md' src/a.ts", by: OPAQUE, why: 'r reads a file' },
  { command: "sed 'W docs/x.md' src/a.ts", by: OPAQUE, why: 'W writes a file' },
  { command: "sed 's/a/b/e' src/a.ts", by: OPAQUE, why: 'the e flag of s runs the pattern space' },
  { command: "sed 's|a|b|gw docs/x' src/a.ts", by: OPAQUE, why: 'w after other flags, another delimiter' },
  { command: "sed -e '1{e id' -e '}' src/a.ts", by: OPAQUE, why: 'blocks are not in the plain grammar' },
  { command: "sed 's/a\\/b/c/;e' src/a.ts", by: OPAQUE, why: 'an escaped delimiter does not end the regex' },
  { command: "sed 'a\\' -e 'text' src/a.ts", by: OPAQUE, why: 'text commands are not in the plain grammar' },
  { command: 'sed -f src/s.sed src/a.ts', by: OPAQUE, why: 'a script file can hold anything' },
  { command: 'sed --file=src/s.sed src/a.ts', by: OPAQUE, why: 'a script file, spelt long' },
  { command: 'sed -i.bak s/a/b/ src/a.ts', by: 'org.no-bak', why: 'the backup src/a.ts.bak is a write' },
  { command: 'sed --in-place=.bak s/a/b/ src/a.ts', by: 'org.no-bak', why: 'the backup, spelt long' },
  { command: 'sed --in-pl s/a/b/ docs/x.md', by: DEFAULT, why: 'an abbreviated long option' },
  { command: 'sed -s -i -- s/a/b/ docs/x.md', by: DEFAULT, why: 'after --' },
  { command: 'sort -odocs/out.txt src/a.ts', by: DEFAULT, why: 'a value glued to its flag' },
  { command: 'sort --output docs/out.txt src/a.ts', by: DEFAULT, why: 'a long option with its value as the next word' },
  { command: 'sort --outp=docs/out.txt src/a.ts', by: DEFAULT, why: 'an abbreviated long option with =' },
  { command: 'sort src/a.ts -o docs/out.txt', by: DEFAULT, why: 'GNU permutes options after operands' },
  { command: 'sort -T docs src/a.ts', by: UNMAPPED, why: 'temporary files in a directory' },
  { command: 'sort --c src/a.ts', by: UNMAPPED, why: 'an ambiguous abbreviation (--check, --compress-program)' },
  { command: 'sort --zzz src/a.ts', by: UNMAPPED, why: 'an option the table does not know' },
  { command: 'uniq -f1 src/a.ts docs/out.txt', by: DEFAULT, why: 'a glued value' },
  { command: 'uniq --skip-fields=1 -- src/a.ts docs/out.txt', by: DEFAULT, why: '--opt=value and --' },
  { command: 'cp -vtdocs src/a.ts', by: DEFAULT, why: 'a glued target directory' },
  { command: 'cp --target-directory docs src/a.ts', by: DEFAULT, why: 'the long form, value as the next word' },
  { command: 'cp --target=docs src/a.ts', by: DEFAULT, why: 'an abbreviated long form' },
  { command: 'cp src/a.ts src/b.ts docs', by: DEFAULT, why: 'several sources land in the last operand' },
  { command: 'cp -b src/a.ts src/b.ts', by: UNMAPPED, why: 'backups are written beside the destination' },
  { command: 'cp --parents src/a.ts src/b', by: UNMAPPED, why: '--parents recreates the source path under the destination' },
  { command: 'mv -ft src/dir src/a.ts', by: UNMAPPED, why: 'mv is not mapped: moving a directory moves what is inside it' },
  { command: 'mv src/dir src/dir2', by: UNMAPPED, why: 'mv is not mapped: a source may be a directory holding denied files' },
  { command: 'cp -l docs/x.md src/h.md', by: UNMAPPED, why: 'a hard link makes a later write to src/h.md change docs/x.md' },
  { command: 'cp -s docs/x.md src/h.md', by: UNMAPPED, why: 'a symlink, the same' },
  { command: 'env PATH=src cat src/a.ts', by: UNMAPPED, why: 'PATH=src runs src/cat, not the system cat' },
  { command: 'env LD_PRELOAD=src/x.so cat src/a.ts', by: UNMAPPED, why: 'a preloaded library can do anything' },
  { command: 'env POSIXLY_CORRECT=1 rm src/a.ts -f', by: UNMAPPED, why: 'changes how options are read (rm would remove a file named -f)' },
  { command: 'ls -FR', by: UNMAPPED, why: '-F takes no value, so R is recursion' },
  { command: 'tee -a docs/x', by: DEFAULT, why: 'tee writes its operands' },
  { command: 'touch -r src/a.ts docs/x', by: DEFAULT, why: 'the value of -r is read; the operand is written' },
  { command: 'truncate -s0 docs/x', by: DEFAULT, why: 'truncate writes its operands' },
  { command: 'mkdir -p docs/new', by: DEFAULT, why: 'mkdir writes its operands' },
  { command: 'rmdir -p src/a/b', by: DEFAULT, why: 'rmdir -p may remove src itself' },
  { command: 'rm -fr src/x', by: UNMAPPED, why: 'recursion in a cluster' },
  { command: 'ls -laR', by: UNMAPPED, why: 'recursion in a cluster' },
  { command: 'grep -nr TOKEN', by: UNMAPPED, why: 'recursion in a cluster' },
  { command: 'grep --directories recurse TOKEN src', by: UNMAPPED, why: 'recursion spelt as a value' },
  { command: 'cat -Z src/a.ts', by: UNMAPPED, why: 'an option cat does not have' },
  { command: './cat src/a.ts', by: UNMAPPED, why: 'a program in the workspace is not the system one' },
  { command: "src/sed -n 1p src/a.ts", by: UNMAPPED, why: 'a program in the workspace is not the system one' },
  { command: 'diff src/a.ts src/b.ts', by: UNMAPPED, why: 'diff is not mapped (directories, -l runs pr)' },
  { command: 'dd if=src/a.ts of=docs/x', by: UNMAPPED, why: 'dd is not mapped' },
  { command: 'ln -s src/a.ts docs/x', by: UNMAPPED, why: 'ln is not mapped' },
  { command: 'chmod -w src/a.ts', by: UNMAPPED, why: 'chmod reads -w as a mode; not mapped' },
  { command: 'timeout -vs KILL 5 sort -o docs/x src/a.ts', by: DEFAULT, why: 'a wrapper cluster whose last letter takes a value' },
  { command: "env -iS 'sort -o docs/x' src/a.ts", by: OPAQUE, why: 'env -S re-splits a string' },
  { command: 'env -u X sort -o docs/x src/a.ts', by: DEFAULT, why: 'env runs the rest' },
  { command: 'time -o docs/t cat src/a.ts', by: DEFAULT, why: 'GNU time -o writes its report' },
  { command: 'nice -n5 stdbuf -oL sort -o docs/x src/a.ts', by: DEFAULT, why: 'wrappers inside wrappers' },
];

const ALLOWED: Array<{ command: string; why: string }> = [
  { command: 'sed -n 1p src/a.ts', why: 'a plain print' },
  { command: "sed -E -e 's/(a|b)+/c/g;$d' -e '2,/x/I!p' docs/x.md", why: 'plain commands, read only' },
  { command: 'sed -i s/a/b/ src/a.ts', why: 'an in-place edit of an allowed file' },
  { command: 'sed -iE s/a/b/ src/a.ts', why: '-iE is the suffix E: src/a.tsE is under src' },
  { command: 'sort -o src/out.txt docs/a.txt', why: 'sort into an allowed file' },
  { command: 'sort -- -o docs/out.txt', why: 'after --, -o and docs/out.txt are files to read' },
  { command: 'uniq -c docs/a.txt src/out.txt', why: 'uniq into an allowed file' },
  { command: 'cp -t src/dir docs/a.txt', why: 'into an allowed directory' },
  { command: 'head -5 docs/a.txt', why: 'the obsolete count form' },
  { command: 'tail -n +2 docs/a.txt', why: 'a value' },
  { command: 'mkdir -p src/new/deep', why: 'parents created on the way to an allowed path' },
  { command: 'grep -e TOKEN -f docs/p docs/a.txt', why: 'reads' },
  { command: 'ls -la --color=never docs', why: 'a listing' },
  { command: 'env LC_ALL=C TZ=UTC sort -o src/out.txt docs/a.txt', why: 'locale and time zone change no file access' },
];

describe('spellings that hide a write or a command are no longer allowed', () => {
  for (const c of DENIED) {
    it(`${c.command}: ${c.why}`, () => {
      const decision = evaluateScope(layers, parseScope(`shell.exec:${c.command}`), { workspaceRoot: '/w' });
      expect({ effect: decision.effect as Effect, by: decision.decidingRuleId }, `${c.why}: ${decision.reason}`).toEqual({ effect: 'deny', by: c.by });
    });
  }
});

describe('the same programs, used plainly, stay mapped and allowed', () => {
  for (const c of ALLOWED) {
    it(`${c.command}: ${c.why}`, () => {
      const decision = evaluateScope(layers, parseScope(`shell.exec:${c.command}`), { workspaceRoot: '/w' });
      expect(decision.effect, `${c.why}: ${decision.reason}`).toBe('allow');
    });
  }
});

describe('what the mapping says is touched', () => {
  const touched = (command: string): string[] => {
    const scope = parseScope(`shell.exec:${command}`);
    if (scope.kind !== 'shell.exec') throw new Error('not a command');
    return analyzeShellCommand(scope.program, scope.args).paths.map((p) => `${p.kind === 'fs.read' ? 'r' : 'w'} ${p.path}`);
  };
  const cases: Array<[string, string[]]> = [
    ['sed -iE s/a/b/ f', ['w f', 'w fE']],
    ['sed -ni.orig -e p f g', ['w f', 'w g', 'w f.orig', 'w g.orig']],
    ['sed -n p -- -i', ['r -i']],
    ['sort -uo OUT IN', ['w OUT', 'r IN']],
    ['sort -k2,2 --random-source=R IN', ['r R', 'r IN']],
    ['uniq -w3 IN OUT', ['r IN', 'w OUT']],
    ['cp -vtDIR a b/c', ['r a', 'r b/c', 'w DIR', 'w DIR/a', 'w DIR/c']],
    ['cp -T a b', ['r a', 'w b']],
    ['touch -d 2020-01-01 -r REF f', ['r REF', 'w f']],
    ['grep -A 3 -e p a b', ['r a', 'r b']],
    ['grep -3 p a', ['r a']],
    ['tail -5f a', ['r a']],
    ['ls', ['r .']],
    ['rmdir -p a/b/c', ['w a/b/c', 'w a', 'w a/b']],
  ];
  for (const [command, paths] of cases) {
    it(command, () => expect(touched(command)).toEqual(paths));
  }
});
