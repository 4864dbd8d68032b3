import { scanCommandLine } from './scope.js';
import { FLAG, OPAQUE_VALUE, OPTIONAL, VALUE, WRITES, defineOptions, parseOptions } from './shell-options.js';
import type { OptionTable } from './shell-options.js';
import { PROGRAMS } from './shell-programs.js';
import type { ProgramModel } from './shell-programs.js';

/**
 * What a shell.exec scope touches, as far as the engine can tell. See ADR 0006.
 *
 * - `paths`: operands a known program certainly reads or writes. Each is judged
 *   as its own fs scope with the full rules (default deny and the workspace
 *   boundary included), and the command gets the strictest result.
 * - `tokens`: every other word that might name a file. A token only tightens:
 *   if any deny or approval_required fs rule matches it, that rule applies.
 * - `mapping`: `mapped` when the program's operands are understood, `unmapped`
 *   for any other program, `opaque` when inline code or shell syntax means no
 *   word list can say what will run.
 */
export interface ShellAnalysis {
  readonly mapping: 'mapped' | 'unmapped' | 'opaque';
  readonly paths: ReadonlyArray<{ kind: 'fs.read' | 'fs.write'; path: string; via: string }>;
  readonly tokens: readonly string[];
  readonly notes: readonly string[];
}

// Only the programs in PROGRAMS (shell-programs.ts) are mapped. Pagers (less,
// more, bat) run commands, rg recurses and runs --pre programs, and diff, xxd,
// file, install, ln, chmod, dd… have syntax or side effects the table does not
// model; all of them are unmapped and need a rule that lists their arguments.
const SHELLS = new Set(['sh', 'bash', 'zsh', 'dash', 'ksh', 'ash', 'fish', 'busybox']);
// Programs that run the rest of their words as a command. Their options end at
// the first operand (getopt's `+`), so `env -i cat -n x` gives -n to cat.
const WRAPPERS: ReadonlyMap<string, OptionTable> = new Map([
  [
    'env',
    defineOptions(
      {
        'i|ignore-environment': FLAG, '0|null': FLAG, 'u|unset': VALUE, 'C|chdir': OPAQUE_VALUE, 'S|split-string': OPAQUE_VALUE, 'v|debug': FLAG,
        'block-signal': OPTIONAL, 'default-signal': OPTIONAL, 'ignore-signal': OPTIONAL, 'list-signal-handling': FLAG,
      },
      { stopAtOperand: true },
    ),
  ],
  ['nice', defineOptions({ 'n|adjustment': VALUE }, { stopAtOperand: true })],
  ['timeout', defineOptions({ 's|signal': VALUE, 'k|kill-after': VALUE, foreground: FLAG, 'preserve-status': FLAG, 'v|verbose': FLAG }, { stopAtOperand: true })],
  ['stdbuf', defineOptions({ 'i|input': VALUE, 'o|output': VALUE, 'e|error': VALUE }, { stopAtOperand: true })],
  // GNU time: -o FILE writes the report to FILE.
  ['time', defineOptions({ 'a|append': FLAG, 'f|format': VALUE, 'o|output': WRITES, 'p|portability': FLAG, 'q|quiet': FLAG, 'v|verbose': FLAG, h: FLAG, V: FLAG }, { stopAtOperand: true })],
  // Shell builtins, met inside `sh -c`.
  ['command', defineOptions({ p: FLAG, v: FLAG, V: FLAG }, { stopAtOperand: true, common: false })],
  ['exec', defineOptions({ a: VALUE, c: FLAG, l: FLAG }, { stopAtOperand: true, common: false })],
]);
// Variables that change only messages, formats and time zones.
const SAFE_ENV = /^(?:LANG|LANGUAGE|LC_[A-Z]+|TZ|NO_COLOR|COLUMNS|LINES|TERM)$/;
const INLINE_CODE_FLAGS: Record<string, readonly string[]> = {
  node: ['-e', '--eval', '-p', '--print'],
  python: ['-c'],
  python3: ['-c'],
  perl: ['-e', '-E'],
  ruby: ['-e'],
  php: ['-r'],
};
const MAX_DEPTH = 8;

/** Analyses a program and its arguments; `program` is matched by its last path segment. */
export function analyzeShellCommand(program: string, args: readonly string[]): ShellAnalysis {
  const out = { mapping: 'mapped' as ShellAnalysis['mapping'], paths: [] as Array<ShellAnalysis['paths'][number]>, tokens: [] as string[], notes: [] as string[] };
  analyze(program, args, out, 0);
  return out;
}

type Acc = { mapping: ShellAnalysis['mapping']; paths: Array<ShellAnalysis['paths'][number]>; tokens: string[]; notes: string[] };

function worsen(acc: Acc, mapping: 'unmapped' | 'opaque'): void {
  if (acc.mapping === 'opaque') return;
  if (mapping === 'opaque' || acc.mapping === 'mapped') acc.mapping = mapping;
}

function addToken(acc: Acc, word: string): void {
  const eq = word.indexOf('=');
  if (word.startsWith('-')) {
    if (eq > 0) acc.tokens.push(word.slice(eq + 1));
    return;
  }
  acc.tokens.push(word);
  // `if=.env`, `--x=y`, `HEAD:.env`: the part after the separator may be the path.
  for (const sep of ['=', ':']) {
    const at = word.indexOf(sep);
    if (at > 0 && at < word.length - 1) acc.tokens.push(word.slice(at + 1));
  }
}

function addCodeTokens(acc: Acc, code: string): void {
  for (const piece of code.split(/[\s'"`;|&<>(){}[\],=+]+/)) if (piece !== '') addToken(acc, piece);
}

/** A program's name as Rules map it: last path segment, lowercased, without `.exe` (`/usr/bin/GIT.exe` is `git`). */
export function toProgramName(program: string): string {
  const parts = program.replace(/\\/g, '/').split('/');
  return (parts[parts.length - 1] ?? program).toLowerCase().replace(/\.exe$/, '');
}

// A program spelt with a path is mapped only when the path is the system's own
// copy: `./cat` or `src/sed` is a file in the workspace that can do anything.
function isSystemProgram(program: string): boolean {
  return /^(?:\/usr)?\/bin\/[^/\\]+$/.test(program) || !/[/\\]/.test(program);
}

function analyze(program: string, args: readonly string[], acc: Acc, depth: number): void {
  const name = toProgramName(program);
  const via = [program, ...args].join(' ');
  for (const arg of args) addToken(acc, arg);
  if (program.includes('/') || program.includes('\\')) addToken(acc, program);
  if (depth > MAX_DEPTH) {
    worsen(acc, 'opaque');
    acc.notes.push('commands nested too deeply to map');
    return;
  }
  const system = isSystemProgram(program);
  const model = system ? PROGRAMS.get(name) : undefined;
  if (model !== undefined) {
    analyzeMapped(name, model, args, acc, via);
    return;
  }
  if (system && SHELLS.has(name)) {
    analyzeShell(args, acc, depth, via);
    return;
  }
  const wrapper = system ? WRAPPERS.get(name) : undefined;
  if (wrapper !== undefined) {
    analyzeWrapper(name, wrapper, args, acc, depth, via);
    return;
  }
  const codeFlags = INLINE_CODE_FLAGS[name];
  if (codeFlags !== undefined) {
    analyzeInterpreter(name, codeFlags, args, acc, via);
    return;
  }
  worsen(acc, 'unmapped');
  acc.notes.push(system ? `${name} is not a program whose file arguments Rules understand` : `${program} is not a system program, so Rules cannot know what it does`);
}

function analyzeMapped(name: string, model: ProgramModel, args: readonly string[], acc: Acc, via: string): void {
  const parsed = parseOptions(model.options, args);
  if (!parsed.ok) {
    // An option the table does not know may write, read a list of names or run
    // a program; every word is still judged as a token.
    worsen(acc, 'unmapped');
    acc.notes.push(`${name} ${parsed.problem}`);
    return;
  }
  for (const option of parsed.options) {
    if (option.role === 'read' && option.value !== undefined && option.value !== '-') acc.paths.push({ kind: 'fs.read', path: option.value, via });
    if (option.role === 'write' && option.value !== undefined) acc.paths.push({ kind: 'fs.write', path: option.value, via });
    if (option.role === 'unmapped') {
      // Recursion, names read from a file, backups or a helper program: the files
      // touched are not the words given. The operands are still judged.
      worsen(acc, 'unmapped');
      acc.notes.push(`${name} ${option.spelling} touches files (or runs programs) its words do not name`);
    }
    if (option.role === 'opaque') {
      worsen(acc, 'opaque');
      acc.notes.push(`${name} ${option.spelling} takes a program Rules cannot read`);
    }
  }
  const touches = model.touches(parsed.options, parsed.operands);
  for (const path of touches.reads) acc.paths.push({ kind: 'fs.read', path, via });
  for (const path of touches.writes) acc.paths.push({ kind: 'fs.write', path, via });
  acc.tokens.push(...(touches.maybe ?? []));
  for (const code of touches.code ?? []) addCodeTokens(acc, code);
  if (touches.unmapped !== undefined) {
    worsen(acc, 'unmapped');
    acc.notes.push(touches.unmapped);
  }
  if (touches.opaque !== undefined) {
    worsen(acc, 'opaque');
    acc.notes.push(touches.opaque);
  }
}

function analyzeShell(args: readonly string[], acc: Acc, depth: number, via: string): void {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    // `-c`, `-ec`, `-lc`: the next word is a script.
    if (/^-[A-Za-z]*c[A-Za-z]*$/.test(arg)) {
      const script = args[i + 1];
      if (script === undefined) {
        worsen(acc, 'opaque');
        return;
      }
      const scanned = scanCommandLine(script);
      if (scanned === undefined || scanned.hasShellSyntax || scanned.words.length === 0) {
        worsen(acc, 'opaque');
        acc.notes.push('the shell script uses syntax (operators, redirection, expansion) that cannot be mapped');
        addCodeTokens(acc, script);
        return;
      }
      const [inner, ...innerArgs] = scanned.words;
      analyze(inner as string, innerArgs, acc, depth + 1);
      return;
    }
    if (!arg.startsWith('-')) {
      acc.paths.push({ kind: 'fs.read', path: arg, via });
      // The script's own behaviour is unknown.
      worsen(acc, 'unmapped');
      return;
    }
  }
  // No script at all: the shell would read commands from stdin, which nothing here governs.
  worsen(acc, 'opaque');
  acc.notes.push('a shell without -c reads its commands from elsewhere');
}

function analyzeWrapper(name: string, table: OptionTable, args: readonly string[], acc: Acc, depth: number, via: string): void {
  const parsed = parseOptions(table, args);
  if (!parsed.ok) {
    worsen(acc, 'unmapped');
    acc.notes.push(`${name} ${parsed.problem}`);
    return;
  }
  for (const option of parsed.options) {
    if (option.role === 'write' && option.value !== undefined) acc.paths.push({ kind: 'fs.write', path: option.value, via });
    if (option.role === 'opaque') {
      // `env -S` re-splits a string into words, `env -C` moves the working directory.
      worsen(acc, 'opaque');
      acc.notes.push(`${name} ${option.spelling} changes how the command is read`);
      return;
    }
  }
  let rest = parsed.operands;
  if (name === 'env') {
    const at = rest.findIndex((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w));
    const assignments = at < 0 ? rest : rest.slice(0, at);
    rest = at < 0 ? [] : rest.slice(at);
    // PATH, LD_PRELOAD, TMPDIR, POSIXLY_CORRECT, BASH_ENV… change which program
    // runs, what it loads or how it reads its options: the words no longer say.
    const unsafe = assignments.filter((w) => !SAFE_ENV.test(w.slice(0, w.indexOf('='))));
    if (unsafe.length > 0) {
      worsen(acc, 'unmapped');
      acc.notes.push(`env ${unsafe.join(' ')} changes how the command runs, beyond what Rules map`);
    }
  }
  if (name === 'timeout') rest = rest.slice(1); // the duration
  const [inner, ...innerArgs] = rest;
  if (inner === undefined) return;
  analyze(inner, innerArgs, acc, depth + 1);
}

function analyzeInterpreter(name: string, codeFlags: readonly string[], args: readonly string[], acc: Acc, via: string): void {
  // Whatever the script does is beyond the word list, so only a rule that
  // spells out the arguments can allow an interpreter.
  worsen(acc, 'unmapped');
  const isNode = name === 'node';
  const testMode = isNode && args.includes('--test');
  // Short flags cluster (`perl -ne`, `python3 -Sc`, `node -pe`, `ruby -ane`):
  // a cluster holding a code letter takes inline code just the same.
  const codeLetters = codeFlags.filter((f) => /^-[A-Za-z]$/.test(f)).map((f) => f.slice(1));
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const flag = arg.includes('=') ? arg.slice(0, arg.indexOf('=')) : arg;
    const clustered = /^-[A-Za-z]{2,}$/.test(arg) && [...arg.slice(1)].some((c) => codeLetters.includes(c));
    if (codeFlags.includes(flag) || clustered) {
      worsen(acc, 'opaque');
      acc.notes.push(`${name} ${flag} runs inline code`);
      const code = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : (args[i + 1] ?? '');
      addCodeTokens(acc, code);
      return;
    }
    if (isNode && ['-r', '--require', '--import', '--loader', '--experimental-loader'].includes(flag)) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : args[++i];
      if (value !== undefined) acc.paths.push({ kind: 'fs.read', path: value, via });
      continue;
    }
    if (!isNode && flag === '-m') {
      // `python -m module`: the module is found on sys.path, not a workspace path we can name.
      worsen(acc, 'unmapped');
      return;
    }
    if (arg.startsWith('-') && arg !== '-') continue;
    // The script (and under `node --test`, every operand) is read and run.
    acc.paths.push({ kind: 'fs.read', path: arg, via });
    if (!testMode) return;
  }
}
