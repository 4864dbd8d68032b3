import { omitUndefined } from '@lumenflow/protocol';
import { FLAG, OPAQUE_VALUE, OPTIONAL, READS, UNMAPPED_FLAG, UNMAPPED_OPTIONAL, UNMAPPED_VALUE, VALUE, WRITES, defineOptions } from './shell-options.js';
import type { OptionSpec, OptionTable, ParsedOption } from './shell-options.js';
import { isPlainSedScript } from './sed-script.js';

/**
 * The programs whose file access the shell analysis maps, and how. Each is the
 * GNU coreutils / grep / sed program Debian ships; the options are those its
 * `--help` lists (checked against coreutils 9.1, grep 3.8, sed 4.9). An option
 * not listed makes the command unmapped. Why the list is this short, and why
 * `mv`, `diff`, `xxd`, `file`, `install`, `ln`, `chmod`, `dd`… are not on it:
 * docs/rules.md and ADR 0025.
 */
export interface ProgramModel {
  readonly options: OptionTable;
  /** What the operands (and program-specific option roles) touch. */
  touches(options: readonly ParsedOption[], operands: readonly string[]): Touches;
}

export interface Touches {
  readonly reads: readonly string[];
  readonly writes: readonly string[];
  /** Paths that may be touched, judged against deny rules only (a copy into what may be a directory). */
  readonly maybe?: readonly string[];
  /** Inline code whose words are judged against deny rules only (a sed script). */
  readonly code?: readonly string[];
  /** Set when the words do not say what the program will do. */
  readonly unmapped?: string;
  readonly opaque?: string;
}

// `-` alone is standard input for the readers here, not a file.
const files = (operands: readonly string[]): string[] => operands.filter((o) => o !== '-');
const values = (options: readonly ParsedOption[], role: ParsedOption['role']): string[] =>
  options.filter((o) => o.role === role && o.value !== undefined).map((o) => o.value as string);

function reader(entries: Readonly<Record<string, OptionSpec>>, extra: Parameters<typeof defineOptions>[1] = {}, implicit?: string): ProgramModel {
  return {
    options: defineOptions(entries, extra),
    touches: (_options, operands) => ({ reads: operands.length === 0 && implicit !== undefined ? [implicit] : files(operands), writes: [] }),
  };
}

// Every operand is written. With `-p`, mkdir creates the missing directories on
// the way (part of writing the path; deny rules still judge them) and rmdir
// removes each ancestor that becomes empty (each a write of its own).
function writer(entries: Readonly<Record<string, OptionSpec>>, parents: 'created' | 'removed' = 'created'): ProgramModel {
  return {
    options: defineOptions(entries),
    touches: (options, operands) => {
      const up = options.some((o) => o.role === 'parents') ? operands.flatMap(ancestors) : [];
      return parents === 'removed' ? { reads: [], writes: [...operands, ...up] } : { reads: [], writes: [...operands], maybe: up };
    },
  };
}

/** `a/b/c` → `a`, `a/b`: the directories leading to a path, as written. */
function ancestors(path: string): string[] {
  const parts = path.split('/');
  const out: string[] = [];
  for (let k = 1; k < parts.length; k++) {
    const prefix = parts.slice(0, k).join('/');
    if (prefix !== '' && prefix !== '.' && !out.includes(prefix)) out.push(prefix);
  }
  return out;
}

function basename(path: string): string {
  const parts = path.replace(/\/+$/, '').split('/');
  return parts[parts.length - 1] ?? path;
}

// cp: SOURCE... DEST, or -t DIR SOURCE...; a source lands in a directory as DIR/<its name>.
function copier(entries: Readonly<Record<string, OptionSpec>>): ProgramModel {
  return {
    options: defineOptions(entries),
    touches: (options, operands) => {
      const targets = options.filter((o) => o.role === 'target').map((o) => o.value as string);
      const noTarget = options.some((o) => o.role === 'no-target');
      const sources = targets.length > 0 ? [...operands] : operands.slice(0, -1);
      const writes: string[] = [];
      const maybe: string[] = [];
      if (targets.length > 0) {
        for (const dir of targets) writes.push(dir, ...sources.map((p) => `${dir}/${basename(p)}`));
      } else if (operands.length > 0) {
        const dest = operands[operands.length - 1] as string;
        writes.push(dest);
        // Several sources need a directory; one source lands in DEST, or in DEST/<name> when DEST is a directory.
        const inside = sources.map((p) => `${dest}/${basename(p)}`);
        if (sources.length > 1 && !noTarget) writes.push(...inside);
        else if (!noTarget) maybe.push(...inside);
      }
      return { reads: sources, writes, maybe };
    },
  };
}

const SUM_OPTIONS = { 'b|binary': FLAG, 'c|check': UNMAPPED_FLAG, tag: FLAG, 't|text': FLAG, 'z|zero': FLAG, 'ignore-missing': FLAG, quiet: FLAG, status: FLAG, strict: FLAG, 'w|warn': FLAG };

const BACKUP = { backup: UNMAPPED_OPTIONAL, b: UNMAPPED_FLAG, 'S|suffix': UNMAPPED_VALUE };
const PARENTS: OptionSpec = { arity: 'none', role: 'parents' };
const TARGET: OptionSpec = { arity: 'required', role: 'target' };
const NO_TARGET: OptionSpec = { arity: 'none', role: 'no-target' };

export const PROGRAMS: ReadonlyMap<string, ProgramModel> = new Map<string, ProgramModel>([
  ['cat', reader({ 'A|show-all': FLAG, 'b|number-nonblank': FLAG, e: FLAG, 'E|show-ends': FLAG, 'n|number': FLAG, 's|squeeze-blank': FLAG, t: FLAG, 'T|show-tabs': FLAG, u: FLAG, 'v|show-nonprinting': FLAG })],
  [
    'head',
    // `head -5` / `head -5c`: the obsolete count form, only as the first word.
    reader({ 'c|bytes': VALUE, 'n|lines': VALUE, 'q|quiet|silent': FLAG, 'v|verbose': FLAG, 'z|zero-terminated': FLAG }, { obsolete: (args, i) => i === 0 && /^-[0-9]+[cbkmlqvz]*$/.test(args[0] as string) }),
  ],
  [
    'tail',
    reader(
      {
        'c|bytes': VALUE, 'n|lines': VALUE, f: FLAG, follow: OPTIONAL, F: FLAG, 'max-unchanged-stats': VALUE, pid: VALUE,
        'q|quiet|silent': FLAG, retry: FLAG, 's|sleep-interval': VALUE, 'v|verbose': FLAG, 'z|zero-terminated': FLAG,
      },
      // `tail -5` / `tail +5f`: GNU reads the obsolete form only with one option and at most one file.
      { obsolete: (args, i) => i === 0 && /^[-+][0-9]*[bcl]?f?$/.test(args[0] as string) && args[0] !== '-' && (args.length === 1 || (args.length === 2 && !(args[1] as string).startsWith('-'))) },
    ),
  ],
  ['wc', reader({ 'c|bytes': FLAG, 'm|chars': FLAG, 'l|lines': FLAG, 'files0-from': UNMAPPED_VALUE, 'L|max-line-length': FLAG, 'w|words': FLAG })],
  ['cut', reader({ 'b|bytes': VALUE, 'c|characters': VALUE, 'd|delimiter': VALUE, 'f|fields': VALUE, n: FLAG, complement: FLAG, 's|only-delimited': FLAG, 'output-delimiter': VALUE, 'z|zero-terminated': FLAG })],
  ['md5sum', reader(SUM_OPTIONS)],
  ['sha1sum', reader(SUM_OPTIONS)],
  ['sha256sum', reader(SUM_OPTIONS)],
  ['sha512sum', reader(SUM_OPTIONS)],
  [
    'ls',
    reader(
      {
        'a|all': FLAG, 'A|almost-all': FLAG, author: FLAG, 'b|escape': FLAG, 'block-size': VALUE, 'B|ignore-backups': FLAG, c: FLAG, C: FLAG, color: OPTIONAL,
        'd|directory': FLAG, 'D|dired': FLAG, f: FLAG, F: FLAG, classify: OPTIONAL, 'file-type': FLAG, format: VALUE, 'full-time': FLAG, g: FLAG,
        'group-directories-first': FLAG, 'G|no-group': FLAG, 'h|human-readable': FLAG, si: FLAG, 'H|dereference-command-line': FLAG,
        'dereference-command-line-symlink-to-dir': FLAG, hide: VALUE, hyperlink: OPTIONAL, 'indicator-style': VALUE, 'i|inode': FLAG,
        'I|ignore': VALUE, 'k|kibibytes': FLAG, l: FLAG, 'L|dereference': FLAG, m: FLAG, 'n|numeric-uid-gid': FLAG, 'N|literal': FLAG, o: FLAG,
        p: FLAG, 'q|hide-control-chars': FLAG, 'show-control-chars': FLAG, 'Q|quote-name': FLAG, 'quoting-style': VALUE, 'r|reverse': FLAG,
        'R|recursive': UNMAPPED_FLAG, 's|size': FLAG, S: FLAG, sort: VALUE, time: VALUE, 'time-style': VALUE, t: FLAG, 'T|tabsize': VALUE, u: FLAG,
        U: FLAG, v: FLAG, 'w|width': VALUE, x: FLAG, X: FLAG, 'Z|context': FLAG, zero: FLAG, '1': FLAG,
      },
      {},
      '.',
    ),
  ],
  [
    'sort',
    reader({
      'b|ignore-leading-blanks': FLAG, 'd|dictionary-order': FLAG, 'f|ignore-case': FLAG, 'g|general-numeric-sort': FLAG, 'i|ignore-nonprinting': FLAG,
      'M|month-sort': FLAG, 'h|human-numeric-sort': FLAG, 'n|numeric-sort': FLAG, 'R|random-sort': FLAG, 'random-source': READS, 'r|reverse': FLAG,
      sort: VALUE, 'V|version-sort': FLAG, 'batch-size': VALUE, c: FLAG, check: OPTIONAL, C: FLAG, 'compress-program': UNMAPPED_VALUE, debug: FLAG,
      'files0-from': UNMAPPED_VALUE, 'k|key': VALUE, 'm|merge': FLAG, 'o|output': WRITES, 's|stable': FLAG, 'S|buffer-size': VALUE,
      't|field-separator': VALUE, 'T|temporary-directory': UNMAPPED_VALUE, parallel: VALUE, 'u|unique': FLAG, 'z|zero-terminated': FLAG,
    }),
  ],
  [
    'uniq',
    {
      options: defineOptions({
        'c|count': FLAG, 'd|repeated': FLAG, D: FLAG, 'all-repeated': OPTIONAL, 'f|skip-fields': VALUE, group: OPTIONAL, 'i|ignore-case': FLAG,
        's|skip-chars': VALUE, 'u|unique': FLAG, 'z|zero-terminated': FLAG, 'w|check-chars': VALUE,
      }),
      // uniq [INPUT [OUTPUT]]: the second operand is written (a third is an error; judged as a write all the same).
      touches: (_options, operands) => ({ reads: files(operands.slice(0, 1)), writes: operands.slice(1) }),
    },
  ],
  [
    'grep',
    {
      options: defineOptions({
        ...Object.fromEntries([...'0123456789'].map((d) => [d, FLAG])),
        'A|after-context': VALUE, 'B|before-context': VALUE, 'C|context': VALUE, 'D|devices': VALUE, 'E|extended-regexp': FLAG, 'F|fixed-strings': FLAG,
        'G|basic-regexp': FLAG, 'P|perl-regexp': FLAG, 'e|regexp': { arity: 'required', role: 'pattern' }, 'f|file': { arity: 'required', role: 'read' },
        'i|y|ignore-case': FLAG, 'no-ignore-case': FLAG, 'w|word-regexp': FLAG, 'x|line-regexp': FLAG, 'z|null-data': FLAG, 's|no-messages': FLAG,
        'v|invert-match': FLAG, V: FLAG, 'm|max-count': VALUE, 'b|byte-offset': FLAG, 'n|line-number': FLAG, 'line-buffered': FLAG,
        'H|with-filename': FLAG, 'h|no-filename': FLAG, label: VALUE, 'o|only-matching': FLAG, 'q|quiet|silent': FLAG, 'binary-files': VALUE,
        'a|text': FLAG, I: FLAG, 'd|directories': UNMAPPED_VALUE, 'r|recursive': UNMAPPED_FLAG, 'R|dereference-recursive': UNMAPPED_FLAG,
        include: VALUE, exclude: VALUE, 'exclude-from': READS, 'exclude-dir': VALUE, 'L|files-without-match': FLAG, 'l|files-with-matches': FLAG,
        'c|count': FLAG, 'T|initial-tab': FLAG, 'Z|null': FLAG, 'group-separator': VALUE, 'no-group-separator': FLAG, 'color|colour': OPTIONAL,
        'U|binary': FLAG,
      }),
      // The first operand is the pattern unless -e or -f gave one.
      touches: (options, operands) => {
        const given = options.some((o) => o.role === 'pattern' || o.id === 'f|file');
        return { reads: files(given ? operands : operands.slice(1)), writes: [] };
      },
    },
  ],
  [
    'sed',
    {
      options: defineOptions({
        'n|quiet|silent': FLAG, debug: FLAG, 'e|expression': { arity: 'required', role: 'script' }, 'f|file': OPAQUE_VALUE, 'follow-symlinks': FLAG,
        'i|in-place': { arity: 'optional', role: 'in-place' }, 'l|line-length': VALUE, posix: FLAG, 'E|r|regexp-extended': FLAG, 's|separate': FLAG,
        sandbox: FLAG, 'u|unbuffered': FLAG, 'z|null-data': FLAG, 'b|binary': FLAG,
      }),
      touches: (options, operands) => {
        const scripts = values(options, 'script');
        const inputs = scripts.length > 0 || options.some((o) => o.id === 'f|file') ? [...operands] : operands.slice(1);
        if (scripts.length === 0 && operands[0] !== undefined) scripts.push(operands[0]);
        const plain = scripts.every(isPlainSedScript);
        const inPlace = options.filter((o) => o.role === 'in-place');
        // The last -i wins. GNU sed names a backup FILE+SUFFIX; a suffix with `*` or `/`
        // is expanded in ways that differ between versions, so it is not mapped.
        const suffix = inPlace.length > 0 ? (inPlace[inPlace.length - 1]?.value ?? '') : '';
        const oddSuffix = /[*/\\]/.test(suffix);
        return {
          reads: inPlace.length > 0 ? [] : files(inputs),
          writes: inPlace.length > 0 ? [...inputs, ...(suffix === '' || oddSuffix ? [] : inputs.map((p) => `${p}${suffix}`))] : [],
          // A plain script names no file; any other is judged word by word against deny rules (`1r .env`).
          code: plain ? [] : scripts,
          ...omitUndefined({
            opaque: plain ? undefined : 'the sed script uses commands beyond the plain ones Rules read (r/R read files, w/W and s///w write them, e and s///e run commands)',
            unmapped: oddSuffix ? `sed -i${suffix} names its backup in a way Rules do not map` : undefined,
          }),
        };
      },
    },
  ],
  [
    'cp',
    copier({
      'a|archive': UNMAPPED_FLAG, 'attributes-only': FLAG, ...BACKUP, 'copy-contents': FLAG, d: FLAG, 'f|force': FLAG, 'i|interactive': FLAG, H: FLAG,
      'l|link': UNMAPPED_FLAG, 'L|dereference': FLAG, 'n|no-clobber': FLAG, 'P|no-dereference': FLAG, p: FLAG, preserve: OPTIONAL, 'no-preserve': VALUE,
      parents: UNMAPPED_FLAG, 'R|r|recursive': UNMAPPED_FLAG, reflink: OPTIONAL, 'remove-destination': FLAG, sparse: VALUE,
      'strip-trailing-slashes': FLAG, 's|symbolic-link': UNMAPPED_FLAG, 't|target-directory': TARGET, 'T|no-target-directory': NO_TARGET, 'u|update': FLAG,
      'v|verbose': FLAG, 'x|one-file-system': FLAG, Z: FLAG, context: OPTIONAL,
    }),
  ],
  [
    'rm',
    writer({
      'f|force': FLAG, i: FLAG, I: FLAG, interactive: OPTIONAL, 'one-file-system': FLAG, 'no-preserve-root': FLAG, 'preserve-root': OPTIONAL,
      'r|R|recursive': UNMAPPED_FLAG, 'd|dir': FLAG, 'v|verbose': FLAG,
    }),
  ],
  ['rmdir', writer({ 'ignore-fail-on-non-empty': FLAG, 'p|parents': PARENTS, 'v|verbose': FLAG }, 'removed')],
  ['mkdir', writer({ 'm|mode': VALUE, 'p|parents': PARENTS, 'v|verbose': FLAG, Z: FLAG, context: OPTIONAL })],
  ['touch', writer({ a: FLAG, 'c|no-create': FLAG, 'd|date': VALUE, f: FLAG, 'h|no-dereference': FLAG, m: FLAG, 'r|reference': READS, t: VALUE, time: VALUE })],
  ['tee', writer({ 'a|append': FLAG, 'i|ignore-interrupts': FLAG, p: FLAG, 'output-error': OPTIONAL })],
  ['truncate', writer({ 'c|no-create': FLAG, 'o|io-blocks': FLAG, 'r|reference': READS, 's|size': VALUE })],
]);
