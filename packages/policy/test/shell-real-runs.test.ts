import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { analyzeShellCommand, evaluateScope, resolveWorkspacePath } from '@lumenflow/policy';
import { PROGRAMS } from '../src/shell-programs.js';
import { rule, ruleSet } from './helpers.js';

// The mapping is a claim about real programs: "these words touch these paths".
// This runs generated spellings (clusters, glued values, --opt=value, abbreviated
// long options, --, operands in any order) of every mapped program for real,
// with the system's binaries, in a throwaway bubblewrap sandbox whose only
// writable place is a scratch copy of a small workspace. Whenever Rules allow a
// command, every path the run changed must be one the rules allow writing and
// one the analysis said it writes.

const WRAPPED = ['env', 'timeout', 'nice', 'stdbuf', 'time'];
const layers = {
  cloud: ruleSet([
    rule('allow', { kind: 'fs.read', path: '**' }, 'prop.read.all'),
    rule('allow', { kind: 'fs.write', path: 'src/**' }, 'prop.src.write'),
    rule('deny', { kind: 'fs.read', path: '**/.env' }, 'prop.env.read'),
    rule('deny', { kind: 'fs.write', path: '**/.env' }, 'prop.env.write'),
    ...[...PROGRAMS.keys(), ...WRAPPED].map((program) => rule('allow', { kind: 'shell.exec', program }, `prop.sh.${program}`)),
  ]),
};

const TREE: Record<string, string> = {
  'src/a.txt': 'b\na\na\nc\n',
  'src/b.txt': 'x y\nx y\nz 1\n',
  'src/dir/c.txt': 'c\n',
  // A file no rule lets anyone write, inside a directory rules do: a command that reaches it through the directory is caught.
  'src/dir/.env': 'KEY=1\n',
  'docs/x.md': '# x\na\n',
  'top.txt': 'top\n',
  '.env': 'SECRET=1\n',
};

// Paths inside src are allowed writes, the rest are not; biased towards src so that many commands are allowed and run.
const path = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('src/a.txt', 'src/b.txt', 'src/dir/c.txt', './src/a.txt', 'src/new.txt', 'src/dir/new.txt') },
  { weight: 2, arbitrary: fc.constantFrom('src/dir', 'src/empty', 'src/nd/deep', 'src') },
  { weight: 2, arbitrary: fc.constantFrom('docs/x.md', 'docs', 'docs/new.md', 'top.txt', '-', 'none.txt', '.env', 'src/../top.txt') },
);
const num = fc.constantFrom('0', '1', '2', '+1');
const word = fc.constantFrom('a', 'x', 'SECRET', '^', 'z 1');

type Words = fc.Arbitrary<string[]>;
const flag = (...spellings: string[]): Words => fc.constantFrom(...spellings.map((s) => [s]));
/** Every way getopt_long lets a value reach an option: `-o V`, `-oV`, `--output=V`, `--output V`, `--outp=V`. */
const valued = (short: string | null, long: string | null, value: fc.Arbitrary<string>): Words =>
  fc.tuple(value, fc.nat()).map(([v, form]) => {
    const forms: string[][] = [];
    if (short !== null) forms.push([`-${short}`, v], [`-${short}${v}`]);
    if (long !== null) forms.push([`--${long}=${v}`], [`--${long}`, v], [`--${long.slice(0, Math.max(4, long.length - 2))}=${v}`]);
    return forms[form % forms.length] as string[];
  });
/** A cluster of short flags, ending perhaps in one that takes a value (glued or as the next word). */
const cluster = (letters: string, last: Array<[string, fc.Arbitrary<string>]> = []): Words =>
  fc.tuple(fc.subarray([...letters], { minLength: 1 }), fc.option(fc.constantFrom(...(last.length > 0 ? last : [['', fc.constant('')] as [string, fc.Arbitrary<string>]]))), fc.boolean()).chain(
    ([flags, tail, glued]) => {
      if (tail === null || tail[0] === '') return fc.constant([`-${flags.join('')}`]);
      return tail[1].map((v) => (glued ? [`-${flags.join('')}${tail[0]}${v}`] : [`-${flags.join('')}${tail[0]}`, v]));
    },
  );

/** Options and operands in any order (GNU permutes them), perhaps with `--` somewhere. */
function command(program: string, options: Words[], operands: Words, maxOptions = 2): fc.Arbitrary<string[]> {
  return fc
    .tuple(fc.array(fc.oneof(...options), { maxLength: maxOptions }), operands, fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.nat() }))
    .chain(([opts, ops, dashdash]) => {
      const groups = [...opts, ...ops.map((o) => [o])];
      return fc.shuffledSubarray(groups, { minLength: groups.length, maxLength: groups.length }).map((shuffled) => {
        if (dashdash !== null) shuffled.splice(dashdash % (shuffled.length + 1), 0, ['--']);
        return [program, ...shuffled.flat()];
      });
    });
}
const paths = (min: number, max: number): Words => fc.array(path, { minLength: min, maxLength: max });

const SED_SCRIPTS = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('s/a/b/', 's|a|X|g', 'p', '1d', '$!N', '2q', 'y/ab/ba/', '/a/I!d;s/x/y/2', 's/a/Z/;2d', '1~2p;$=', 'n;n;s/./Q/') },
  {
    weight: 1,
    arbitrary: fc.constantFrom('s/a/b/w src/w.txt', 's/a/b/w docs/w.md', '1e touch src/e.txt', 's/x/y/;1e touch docs/e;s/c/d/', 'w docs/w2.md', '1r top.txt', 's/a/touch docs\\/f/e', '1R src/b.txt', 'W src/W.txt'),
  },
);
const SED_SUFFIX = fc.constantFrom('', '.bak', '~', 'E', '../*', 'x/*', '.orig');

const GENERATORS: Record<string, fc.Arbitrary<string[]>> = {
  cat: command('cat', [cluster('AbeEnstTuv'), flag('--number', '--show-all', '--squeeze-blank', '--num')], paths(0, 2)),
  head: command('head', [valued('n', 'lines', num), valued('c', 'bytes', num), cluster('qvz', [['n', num]]), flag('-3')], paths(0, 2)),
  tail: command('tail', [valued('n', 'lines', num), valued('c', 'bytes', num), cluster('qvz', [['n', num]])], paths(0, 2)),
  wc: command('wc', [cluster('cmlLw'), flag('--lines', '--files0-from=src/a.txt')], paths(0, 2)),
  cut: command('cut', [valued('d', 'delimiter', fc.constant(' ')), valued('f', 'fields', fc.constant('1')), cluster('sz', [['c', fc.constant('1-2')]]), flag('--complement')], paths(0, 2)),
  md5sum: command('md5sum', [cluster('btz'), flag('--tag', '-c')], paths(0, 2)),
  sha1sum: command('sha1sum', [cluster('btz'), flag('--tag')], paths(0, 2)),
  sha256sum: command('sha256sum', [cluster('btz'), flag('--tag', '--check')], paths(0, 2)),
  sha512sum: command('sha512sum', [cluster('bt'), flag('--tag')], paths(0, 2)),
  ls: command('ls', [cluster('alAd1R'), flag('--color=never', '--recursive'), valued('I', 'ignore', fc.constant('x*'))], paths(0, 2)),
  sort: command('sort', [cluster('bdfnrus', [['o', path], ['k', fc.constant('1')], ['t', fc.constant(' ')]]), valued('o', 'output', path), valued('T', 'temporary-directory', path), valued(null, 'random-source', path)], paths(0, 2)),
  uniq: command('uniq', [cluster('cdui', [['f', num], ['s', num], ['w', num]]), valued('f', 'skip-fields', num)], paths(0, 3)),
  grep: command('grep', [cluster('ivnclHhors', [['e', word], ['m', num], ['A', num]]), valued('e', 'regexp', word), valued('f', 'file', path)], fc.tuple(word, paths(0, 2)).map(([w, p]) => [w, ...p])),
  sed: command(
    'sed',
    [cluster('nEsuz', [['i', SED_SUFFIX], ['e', SED_SCRIPTS]]), SED_SUFFIX.map((s) => [`-i${s}`]), SED_SUFFIX.map((s) => (s === '' ? ['--in-place'] : [`--in-place=${s}`])), valued('e', 'expression', SED_SCRIPTS), valued('f', 'file', path)],
    fc.tuple(SED_SCRIPTS, paths(0, 2)).map(([s, p]) => [s, ...p]),
  ),
  cp: command('cp', [cluster('vfnuTrb', [['t', path], ['S', fc.constant('.b')]]), valued('t', 'target-directory', path), flag('--no-target-directory', '--parents', '--backup')], paths(1, 3)),
  rm: command('rm', [cluster('fvdr'), flag('--force', '--recursive')], paths(1, 2)),
  rmdir: command('rmdir', [cluster('pv'), flag('--ignore-fail-on-non-empty', '--parents')], paths(1, 2)),
  mkdir: command('mkdir', [cluster('pv', [['m', fc.constant('755')]]), valued('m', 'mode', fc.constant('700')), flag('--parents')], paths(1, 2)),
  touch: command('touch', [cluster('acm', [['r', path], ['d', fc.constant('2020-01-01')]]), valued('r', 'reference', path)], paths(1, 2)),
  tee: command('tee', [cluster('ai'), flag('--append')], paths(0, 2)),
  truncate: command('truncate', [cluster('co', [['s', num], ['r', path]]), valued('s', 'size', num)], paths(1, 2)),
};

// A mapped command run through a wrapper.
const inner = fc.constantFrom(...Object.keys(GENERATORS)).chain((p) => GENERATORS[p] as fc.Arbitrary<string[]>);
const WRAPPERS: Record<string, fc.Arbitrary<string[]>> = {
  env: fc.tuple(fc.subarray(['-i', '-u', 'X', 'A=1']), inner).map(([pre, cmd]) => ['env', ...pre, ...cmd]),
  timeout: fc.tuple(fc.constantFrom([], ['-s', 'KILL'], ['-vk1'], ['--kill-after=1']), inner).map(([pre, cmd]) => ['timeout', ...pre, '5', ...cmd]),
  nice: inner.map((cmd) => ['nice', '-n1', ...cmd]),
  stdbuf: inner.map((cmd) => ['stdbuf', '-oL', ...cmd]),
  time: fc.tuple(fc.constantFrom([], ['-q'], ['-o', 'src/time.txt'], ['-ao', 'docs/time.txt'], ['--output=src/t2.txt']), inner).map(([pre, cmd]) => ['time', ...pre, ...cmd]),
};

type Entry = string;
function snapshot(root: string): Map<string, Entry> {
  const out = new Map<string, Entry>();
  const walk = (dir: string, rel: string): void => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      const relPath = rel === '' ? name : `${rel}/${name}`;
      const st = lstatSync(full);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out.set(relPath, `link ${mode} ${readlinkSync(full)}`);
      else if (st.isDirectory()) {
        out.set(relPath, `dir ${mode}`);
        walk(full, relPath);
      } else out.set(relPath, `file ${mode} ${createHash('sha256').update(readFileSync(full)).digest('hex')}`);
    }
  };
  walk(root, '');
  return out;
}

function makeScratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lf-shell-prop-'));
  for (const [rel, content] of Object.entries(TREE)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), content);
  }
  mkdirSync(join(dir, 'src', 'empty'));
  return dir;
}

function runSandboxed(dir: string, argv: string[]): void {
  const sandbox = ['--unshare-all', '--die-with-parent', '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--bind', dir, dir, '--chdir', dir];
  spawnSync('bwrap', [...sandbox, '--', ...argv], { input: 'a\nb\n', timeout: 5000, env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' }, stdio: ['pipe', 'ignore', 'ignore'] });
}

function probeBubblewrap(): string | undefined {
  const probe = spawnSync('bwrap', ['--unshare-all', '--die-with-parent', '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', '--', 'true'], { timeout: 10_000 });
  if (probe.error !== undefined) return `bwrap cannot be started (${probe.error.message}); install the Debian package bubblewrap`;
  if (probe.status !== 0) return `bwrap cannot make a sandbox here (exit ${probe.status}): ${probe.stderr.toString().trim()}`;
  return undefined;
}

const unavailable = probeBubblewrap();
const inCi = process.env.CI === 'true';
if (unavailable !== undefined && !inCi) console.warn(`shell-real-runs: skipped, ${unavailable}`);

describe('mapped programs run for real never change a path their decision did not allow', () => {
  it('every mapped program has a generator here', () => {
    expect(Object.keys(GENERATORS).sort()).toEqual([...PROGRAMS.keys()].sort());
  });

  it.skipIf(unavailable !== undefined && !inCi)('generated spellings, run in a bubblewrap sandbox', () => {
    // In CI a missing sandbox is a failure, never a silent skip.
    if (unavailable !== undefined) throw new Error(`bubblewrap is required in CI: ${unavailable}`);
    // Programs that write are where a wrong mapping hides a change, so they come up more often.
    const writers = ['sed', 'sort', 'uniq', 'cp', 'rm', 'rmdir', 'mkdir', 'touch', 'tee', 'truncate'];
    const programs = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...writers) },
      { weight: 1, arbitrary: fc.constantFrom(...Object.keys(GENERATORS).filter((p) => !writers.includes(p)), ...Object.keys(WRAPPERS)) },
    );
    const argvArb = programs.chain((p) => (GENERATORS[p] ?? WRAPPERS[p]) as fc.Arbitrary<string[]>);
    let ran = 0;
    let changedRuns = 0;
    fc.assert(
      fc.property(argvArb, ([program, ...args]) => {
        const decision = evaluateScope(layers, { kind: 'shell.exec', program: program as string, args }, { workspaceRoot: '/w' });
        if (decision.effect !== 'allow') return;
        const dir = makeScratch();
        try {
          const context = { workspaceRoot: dir };
          const writes = analyzeShellCommand(program as string, args)
            .paths.filter((p) => p.kind === 'fs.write')
            .map((p) => resolveWorkspacePath(p.path, context))
            .flatMap((r) => (r.ok ? [r.path] : []));
          const before = snapshot(dir);
          runSandboxed(dir, [program as string, ...args]);
          const after = snapshot(dir);
          ran++;
          const command = [program, ...args].join(' ');
          const changed = [...new Set([...before.keys(), ...after.keys()])].filter((p) => before.get(p) !== after.get(p));
          if (changed.length > 0) changedRuns++;
          for (const p of changed) {
            const write = evaluateScope(layers, { kind: 'fs.write', path: p }, context);
            expect(write.effect, `${command} changed ${p}, which the rules do not allow writing`).toBe('allow');
            const parent = p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '';
            // A write path itself; a file landing in a directory the command writes (cp SRC DIR);
            // or a directory created on the way to a write path (mkdir -p).
            const createdOnTheWay = before.get(p) === undefined && after.get(p)?.startsWith('dir ') === true && writes.some((w) => w.startsWith(`${p}/`));
            const covered = writes.includes(p) || writes.includes(parent) || createdOnTheWay;
            expect(covered, `${command} changed ${p}, but the analysis names only writes to [${writes.join(', ')}]`).toBe(true);
          }
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }),
      {
        numRuns: 110,
        // The spellings, pointed at allowed paths, always run as well.
        examples: [
          ['sort', '-uo', 'src/out.txt', 'src/a.txt'],
          ['sort', '-osrc/out.txt', '--', 'src/a.txt'],
          ['uniq', '-f', '1', 'src/b.txt', 'src/u.txt'],
          ['cp', '-vt', 'src/dir', 'src/a.txt', 'docs/x.md'],
          ['cp', 'src/a.txt', 'src/empty'],
          ['sed', '-Ei', 's/a/b/', 'src/a.txt'],
          ['sed', '-ni', '1p', 'src/a.txt'],
          ['sed', '-iE', 's/a/b/', 'src/a.txt'],
          ['sed', '--in-place=.bak', '-e', 's/a/b/', 'src/a.txt'],
          ['mkdir', '-p', 'src/nd/deep'],
          ['touch', '-r', 'docs/x.md', 'src/t.txt'],
        ].map((argv) => [argv]),
      },
    );
    // The property says nothing if nothing ran or nothing changed.
    expect(ran, 'commands that were allowed and run').toBeGreaterThan(40);
    expect(changedRuns, 'runs that changed the scratch workspace').toBeGreaterThan(8);
  });
});
