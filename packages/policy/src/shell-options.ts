/**
 * One option parser for every program the shell analysis maps, read the way
 * GNU getopt_long reads a command line, driven by a table per program. See
 * docs/rules.md ("shell.exec and file rules") and ADR 0025.
 *
 * Hiding a write in option syntax (`sort -uo OUT`, `cp -vt DIR`, `sed -i.bak`,
 * `--output=OUT`, `--outp OUT`) only works where the analysis reads a word
 * differently from the program. So the parser follows getopt exactly where it
 * can, and everywhere else it gives up: an option missing from the table, an
 * ambiguous abbreviation, a value on a flag or a missing value makes the
 * command `unmapped`, never a guess.
 */

import { omitUndefined } from '@lumenflow/protocol';

/** Whether an option takes a value: never, always (glued or the next word), or only glued (`-iSUF`, `--opt=V`). */
export type Arity = 'none' | 'required' | 'optional';

/**
 * What an option's value (or the option itself) means for file access.
 * `read`/`write`: the value is a path read or written. `unmapped`: what the
 * program touches is no longer in its words (recursion, names read from a
 * file, backups, helper programs). `opaque`: the value is code. Other roles are
 * read by the program's own model (`target`, `pattern`, `script`, `in-place`).
 */
export type OptionRole = 'plain' | 'read' | 'write' | 'unmapped' | 'opaque' | 'target' | 'no-target' | 'pattern' | 'script' | 'in-place' | 'parents';

export interface OptionSpec {
  readonly arity: Arity;
  readonly role: OptionRole;
}

export interface OptionTable {
  /** Short option letter to its id. */
  readonly short: ReadonlyMap<string, string>;
  /** Long option name (without `--`) to its id. */
  readonly long: ReadonlyMap<string, string>;
  readonly specs: ReadonlyMap<string, OptionSpec>;
  /** Options end at the first operand (getopt's leading `+`), as for `env` or `timeout`; otherwise GNU permutes them. */
  readonly stopAtOperand: boolean;
  /** An obsolete spelling the program accepts in its own way (`head -5`, `tail +5`), read as a flag. */
  readonly obsolete?: (args: readonly string[], index: number) => boolean;
}

export interface ParsedOption {
  /** The option's id: its names joined with `|`, as written in the table (`o|output`). */
  readonly id: string;
  readonly role: OptionRole;
  readonly value?: string;
  /** The word(s) as written, for notes. */
  readonly spelling: string;
}

export type ParsedArgs =
  | { readonly ok: true; readonly options: readonly ParsedOption[]; readonly operands: readonly string[] }
  | { readonly ok: false; readonly problem: string };

export const FLAG: OptionSpec = { arity: 'none', role: 'plain' };
export const VALUE: OptionSpec = { arity: 'required', role: 'plain' };
export const OPTIONAL: OptionSpec = { arity: 'optional', role: 'plain' };
export const READS: OptionSpec = { arity: 'required', role: 'read' };
export const WRITES: OptionSpec = { arity: 'required', role: 'write' };
export const UNMAPPED_FLAG: OptionSpec = { arity: 'none', role: 'unmapped' };
export const UNMAPPED_VALUE: OptionSpec = { arity: 'required', role: 'unmapped' };
export const UNMAPPED_OPTIONAL: OptionSpec = { arity: 'optional', role: 'unmapped' };
export const OPAQUE_VALUE: OptionSpec = { arity: 'required', role: 'opaque' };

/** Options every GNU program takes; neither touches a file. */
const COMMON: Readonly<Record<string, OptionSpec>> = { help: FLAG, version: FLAG };

/**
 * Builds a table from `{ 'o|output': WRITES, 'n': FLAG, … }`: each key lists an
 * option's names, one character for a short option, longer for a long one.
 */
export function defineOptions(
  entries: Readonly<Record<string, OptionSpec>>,
  extra: { stopAtOperand?: boolean; obsolete?: (args: readonly string[], index: number) => boolean; common?: boolean } = {},
): OptionTable {
  const short = new Map<string, string>();
  const long = new Map<string, string>();
  const specs = new Map<string, OptionSpec>();
  const all = extra.common === false ? entries : { ...COMMON, ...entries };
  for (const [id, spec] of Object.entries(all)) {
    specs.set(id, spec);
    for (const name of id.split('|')) {
      const names = name.length === 1 ? short : long;
      if (names.has(name)) throw new Error(`option table names ${name} twice`);
      names.set(name, id);
    }
  }
  return { short, long, specs, stopAtOperand: extra.stopAtOperand ?? false, ...omitUndefined({ obsolete: extra.obsolete }) };
}

/**
 * Splits `args` into options and operands as getopt_long would: short options
 * cluster (`-uo OUT`), a value may be glued (`-oOUT`, `--output=OUT`) or be the
 * next word, a long option may be any unambiguous prefix (`--out`), `--` ends
 * the options, and `-` alone is an operand. Anything the table does not know
 * is a problem, never a guess.
 */
export function parseOptions(table: OptionTable, args: readonly string[]): ParsedArgs {
  const options: ParsedOption[] = [];
  const operands: string[] = [];
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      if (table.stopAtOperand) break;
      operands.push(arg);
      continue;
    }
    if (table.obsolete?.(args, i)) {
      options.push({ id: 'obsolete', role: 'plain', spelling: arg });
      continue;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const id = resolveLong(table, name);
      if (id.problem !== undefined) return { ok: false, problem: `${arg}: ${id.problem}` };
      const spec = table.specs.get(id.id) as OptionSpec;
      if (eq >= 0) {
        if (spec.arity === 'none') return { ok: false, problem: `${arg}: --${name} takes no value` };
        options.push({ id: id.id, role: spec.role, value: arg.slice(eq + 1), spelling: arg });
      } else if (spec.arity === 'required') {
        if (i + 1 >= args.length) return { ok: false, problem: `${arg}: missing its value` };
        const value = args[++i] as string;
        options.push({ id: id.id, role: spec.role, value, spelling: `${arg} ${value}` });
      } else {
        options.push({ id: id.id, role: spec.role, spelling: arg });
      }
      continue;
    }
    // A cluster of short options: letters until one that takes a value.
    for (let j = 1; j < arg.length; j++) {
      const letter = arg[j] as string;
      const id = table.short.get(letter);
      if (id === undefined) return { ok: false, problem: `${arg}: -${letter} is not an option Rules know for this program` };
      const spec = table.specs.get(id) as OptionSpec;
      if (spec.arity === 'none') {
        options.push({ id, role: spec.role, spelling: `-${letter}` });
        continue;
      }
      const rest = arg.slice(j + 1);
      if (spec.arity === 'optional' || rest !== '') {
        options.push({ id, role: spec.role, value: rest, spelling: `-${letter}${rest}` });
      } else {
        if (i + 1 >= args.length) return { ok: false, problem: `${arg}: -${letter} is missing its value` };
        const value = args[++i] as string;
        options.push({ id, role: spec.role, value, spelling: `-${letter} ${value}` });
      }
      break;
    }
  }
  for (; i < args.length; i++) operands.push(args[i] as string);
  return { ok: true, options, operands };
}

// getopt_long takes an exact name, else a prefix of exactly one option.
function resolveLong(table: OptionTable, name: string): { id: string; problem?: undefined } | { id?: undefined; problem: string } {
  const exact = table.long.get(name);
  if (exact !== undefined) return { id: exact };
  const ids = new Set<string>();
  if (name !== '') for (const [long, id] of table.long) if (long.startsWith(name)) ids.add(id);
  if (ids.size === 1) return { id: [...ids][0] as string };
  return { problem: ids.size === 0 ? 'not an option Rules know for this program' : 'an ambiguous abbreviation' };
}
