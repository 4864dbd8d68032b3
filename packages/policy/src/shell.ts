import { scanCommandLine } from './scope.js';

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

// Pagers (less, more, bat) are left out on purpose: they can run commands
// (`!cmd`, LESSOPEN, --pager), so no word list says what they do.
const READERS = new Set([
  'cat', 'head', 'tail', 'wc', 'nl', 'od', 'hexdump', 'strings', 'base64',
  'md5sum', 'sha1sum', 'sha256sum', 'sha512sum', 'shasum', 'file', 'stat', 'ls', 'du', 'tac', 'cmp', 'diff',
  'realpath', 'readlink', 'cut', 'paste', 'fold', 'rev',
]);
// Options that make a mapped program read a list of file names from a file, or
// run another program: what they touch is not in the word list.
const UNMAPPABLE_OPTIONS: Record<string, readonly string[]> = {
  sort: ['--files0-from', '--compress-program'],
  wc: ['--files0-from'],
  du: ['--files0-from'],
  md5sum: ['-c', '--check'],
  sha1sum: ['-c', '--check'],
  sha256sum: ['-c', '--check'],
  sha512sum: ['-c', '--check'],
  shasum: ['-c', '--check'],
  file: ['-f', '--files-from'],
  diff: ['-r', '--recursive', '--from-file', '--to-file'],
  grep: ['-r', '-R', '--recursive', '--dereference-recursive', '-d', '--directories'],
  cp: ['-r', '-R', '-a', '--recursive', '--archive'],
  rm: ['-r', '-R', '--recursive'],
  chmod: ['-R', '--recursive'],
  chown: ['-R', '--recursive'],
  chgrp: ['-R', '--recursive'],
};
const WRITERS = new Set(['touch', 'rm', 'rmdir', 'mkdir', 'tee', 'truncate', 'shred', 'unlink']);
const SHELLS = new Set(['sh', 'bash', 'zsh', 'dash', 'ksh', 'ash', 'fish', 'busybox']);
// Programs that run the rest of their words as a command.
const WRAPPERS = new Set(['env', 'nice', 'nohup', 'time', 'command', 'exec', 'timeout', 'stdbuf']);
// Options whose value is the next word, so the value is not mistaken for a path operand.
const VALUE_OPTIONS: Record<string, readonly string[]> = {
  head: ['-n', '-c', '--lines', '--bytes'],
  tail: ['-n', '-c', '--lines', '--bytes'],
  cut: ['-d', '-f', '-c', '-b'],
  sort: ['-k', '-t', '-S', '-T', '-o', '--output'],
  grep: ['-m', '-A', '-B', '-C', '-e', '-f', '-d', '-D'],
  du: ['-d'],
  nice: ['-n'],
  timeout: ['-s', '-k', '--signal', '--kill-after'],
  env: ['-u', '--unset'],
  stdbuf: ['-i', '-o', '-e'],
  cp: ['-t', '-S'],
  mv: ['-t', '-S'],
  ln: ['-t', '-S'],
  install: ['-t', '-S', '-m', '-o', '-g'],
};
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

function splitOptions(name: string, args: readonly string[]): { options: string[]; operands: string[]; values: string[] } {
  const valueOptions = VALUE_OPTIONS[name] ?? [];
  const options: string[] = [];
  const operands: string[] = [];
  const values: string[] = [];
  let endOfOptions = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (endOfOptions || !arg.startsWith('-') || arg === '-') {
      operands.push(arg);
      continue;
    }
    if (arg === '--') {
      endOfOptions = true;
      continue;
    }
    options.push(arg);
    if (valueOptions.includes(arg) && i + 1 < args.length) values.push(args[++i] as string);
  }
  return { options, operands, values };
}

/** True when `args` (before any `--`) use one of `names`: `-r`, `--long`, `--long=value`, or a short cluster such as `-rn`. */
function usesOption(args: readonly string[], names: readonly string[]): boolean {
  const shortLetters = names.filter((n) => /^-[A-Za-z]$/.test(n)).map((n) => n.slice(1));
  for (const arg of args) {
    if (arg === '--') return false;
    if (arg.startsWith('--')) {
      const bare = arg.includes('=') ? arg.slice(0, arg.indexOf('=')) : arg;
      if (names.includes(bare)) return true;
    } else if (/^-[A-Za-z0-9]+/.test(arg)) {
      // The letters of a cluster up to the first one that takes a value; checking them all is the fail-closed reading.
      if ([...arg.slice(1)].some((c) => shortLetters.includes(c))) return true;
    }
  }
  return false;
}

/** Values of `-x V`, `-xV`, `--long V` and `--long=V` for the given spellings. */
function optionValues(args: readonly string[], short: string, long: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--') break;
    if (arg === short || arg === long) {
      if (i + 1 < args.length) values.push(args[++i] as string);
    } else if (arg.startsWith(`${long}=`)) {
      values.push(arg.slice(long.length + 1));
    } else if (short !== '' && arg.startsWith(short) && !arg.startsWith('--') && arg.length > short.length) {
      values.push(arg.slice(short.length));
    }
  }
  return values;
}

function pathBasename(path: string): string {
  const parts = path.replace(/\\/g, '/').replace(/\/+$/, '').split('/');
  return parts[parts.length - 1] ?? path;
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
  const family = name === 'egrep' || name === 'fgrep' ? 'grep' : name;
  const unmappable = UNMAPPABLE_OPTIONS[family];
  if (unmappable !== undefined && usesOption(args, unmappable)) {
    // Recursion, a list of names read from a file, or a helper program: the
    // files touched are not the words given. The operands are still judged.
    worsen(acc, 'unmapped');
    acc.notes.push(`${name} with ${unmappable.join('/')} touches files (or runs programs) its words do not name`);
  }
  if (READERS.has(name) || WRITERS.has(name)) {
    const kind = WRITERS.has(name) ? 'fs.write' : 'fs.read';
    for (const operand of splitOptions(name, args).operands) acc.paths.push({ kind, path: operand, via });
    return;
  }
  switch (name) {
    case 'sort': {
      for (const operand of splitOptions(name, args).operands) acc.paths.push({ kind: 'fs.read', path: operand, via });
      // `sort -o FILE` writes FILE (and reads it first when it is also an input).
      for (const out of optionValues(args, '-o', '--output')) acc.paths.push({ kind: 'fs.write', path: out, via });
      return;
    }
    case 'uniq':
    case 'xxd': {
      // `uniq IN OUT` and `xxd IN OUT` write their second operand.
      splitOptions(name, args).operands.forEach((p, i) => acc.paths.push({ kind: i === 1 ? 'fs.write' : 'fs.read', path: p, via }));
      return;
    }
    case 'cp':
    case 'install':
    case 'mv':
    case 'ln': {
      const { operands } = splitOptions(name, args);
      const targets = [...optionValues(args, '-t', '--target-directory')];
      // Without -t the last operand is the destination (a file, or a directory the sources land in).
      const sources = targets.length > 0 ? operands : operands.slice(0, -1);
      if (targets.length === 0 && operands.length > 0) targets.push(operands[operands.length - 1] as string);
      for (const p of sources) acc.paths.push({ kind: name === 'cp' || name === 'install' ? 'fs.read' : 'fs.write', path: p, via });
      for (const t of targets) {
        acc.paths.push({ kind: 'fs.write', path: t, via });
        // Into a directory, each source lands as DIR/<its name>; a deny on that name must hold.
        for (const p of sources) acc.tokens.push(`${t}/${pathBasename(p)}`);
      }
      return;
    }
    case 'chmod':
    case 'chown':
    case 'chgrp': {
      // The first operand is a mode or owner, not a path.
      for (const p of splitOptions(name, args).operands.slice(1)) acc.paths.push({ kind: 'fs.write', path: p, via });
      return;
    }
    case 'grep':
    case 'egrep':
    case 'fgrep': {
      const { operands } = splitOptions('grep', args);
      const patterns = [...optionValues(args, '-e', '--regexp')];
      const patternFiles = optionValues(args, '-f', '--file');
      // With -e/-f the pattern is an option value, so every operand is a file.
      const files = patterns.length > 0 || patternFiles.length > 0 ? operands : operands.slice(1);
      for (const p of [...patternFiles, ...files]) acc.paths.push({ kind: 'fs.read', path: p, via });
      return;
    }
    case 'sed': {
      const { options, operands } = splitOptions(name, args);
      const inPlace = options.some((o) => o.startsWith('-i') || o.startsWith('--in-place'));
      const scripts = optionValues(args, '-e', '--expression');
      const scriptFiles = optionValues(args, '-f', '--file');
      const files = scripts.length > 0 || scriptFiles.length > 0 ? operands : operands.slice(1);
      if (scripts.length === 0 && scriptFiles.length === 0 && operands[0] !== undefined) scripts.push(operands[0]);
      for (const p of files) acc.paths.push({ kind: inPlace ? 'fs.write' : 'fs.read', path: p, via });
      for (const f of scriptFiles) acc.paths.push({ kind: 'fs.read', path: f, via });
      for (const script of scripts) addCodeTokens(acc, script);
      // sed's r/R read files, w/W write them and e runs commands: such a script is a
      // program of its own. Outside /…/ sections any of those letters counts (fail closed).
      if (scriptFiles.length > 0 || scripts.some((script) => /[rRwWeE]/.test(script.replace(/\/(?:[^/\\\n]|\\.)*\//g, '')))) {
        worsen(acc, 'opaque');
        acc.notes.push('the sed script can read or write files or run commands');
      }
      return;
    }
    case 'dd': {
      for (const arg of args) {
        if (arg.startsWith('if=')) acc.paths.push({ kind: 'fs.read', path: arg.slice(3), via });
        else if (arg.startsWith('of=')) acc.paths.push({ kind: 'fs.write', path: arg.slice(3), via });
      }
      return;
    }
  }
  if (SHELLS.has(name)) {
    analyzeShell(args, acc, depth, via);
    return;
  }
  if (WRAPPERS.has(name)) {
    analyzeWrapper(name, args, acc, depth);
    return;
  }
  const codeFlags = INLINE_CODE_FLAGS[name];
  if (codeFlags !== undefined) {
    analyzeInterpreter(name, codeFlags, args, acc, via);
    return;
  }
  worsen(acc, 'unmapped');
  acc.notes.push(`${name} is not a program whose file arguments Rules understand`);
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

function analyzeWrapper(name: string, args: readonly string[], acc: Acc, depth: number): void {
  const valueOptions = VALUE_OPTIONS[name] ?? [];
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--') {
      i++;
      break;
    }
    if (name === 'env' && (arg === '-S' || arg.startsWith('--split-string') || arg === '-C' || arg.startsWith('--chdir'))) {
      worsen(acc, 'opaque');
      acc.notes.push(`env ${arg} changes how the command is read`);
      return;
    }
    if (arg.startsWith('-') && arg !== '-') {
      if (valueOptions.includes(arg)) i++;
      continue;
    }
    if (name === 'env' && /^[A-Za-z_][A-Za-z0-9_]*=/.test(arg)) continue;
    break;
  }
  if (name === 'timeout') i++; // the duration
  const inner = args[i];
  if (inner === undefined) return;
  analyze(inner, args.slice(i + 1), acc, depth + 1);
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
