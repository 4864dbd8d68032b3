import { CliError } from './cli-error.js';

/** The demo CLI's commands. */
export const COMMAND_NAMES = ['run', 'verify', 'replay', 'explain'] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

// The forms users typed before the commands existed, kept as aliases (README,
// scripts, muscle memory): `--mode <mode>` is `run --mode <mode>`, and
// `--verify|--replay|--explain <x>` is `verify|replay|explain <x>`.
const FLAG_FORMS: ReadonlyArray<{ flag: string; command: CommandName; keepFlag: boolean }> = [
  { flag: '--mode', command: 'run', keepFlag: true },
  { flag: '--verify', command: 'verify', keepFlag: false },
  { flag: '--replay', command: 'replay', keepFlag: false },
  { flag: '--explain', command: 'explain', keepFlag: false },
];

/**
 * Rewrites a flag form (`--verify <dir> --json`) into its command form
 * (`verify <dir> --json`). Command forms and argv with no flag form pass
 * through unchanged, so commander reports help, unknown options and missing
 * commands itself. Pure.
 *
 * @throws {CliError} USAGE when two different flag forms are given at once.
 */
export function toCommandArgv(argv: readonly string[]): string[] {
  if ((COMMAND_NAMES as readonly string[]).includes(argv[0] ?? '')) return [...argv];
  const hits: Array<{ form: (typeof FLAG_FORMS)[number]; start: number; length: number; value: string | undefined }> = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] ?? '';
    if (token === '--') break;
    const form = FLAG_FORMS.find((f) => token === f.flag || token.startsWith(`${f.flag}=`));
    if (form === undefined) continue;
    const inline = token.length > form.flag.length;
    const value = inline ? token.slice(form.flag.length + 1) : argv[i + 1];
    const length = inline || value === undefined ? 1 : 2;
    hits.push({ form, start: i, length, value });
    i += length - 1;
  }
  const commands = new Set(hits.map((h) => h.form.command));
  if (commands.size === 0) return [...argv];
  if (commands.size > 1) throw new CliError('USAGE', 'choose exactly one of --mode, --verify, --explain, --replay (see --help)');
  const [first] = hits;
  if (first === undefined) return [...argv];
  if (first.form.keepFlag) return [first.form.command, ...argv];
  // As commander did with a repeated option, the last value wins.
  const value = hits[hits.length - 1]?.value;
  const rest = argv.filter((_, i) => !hits.some((h) => i >= h.start && i < h.start + h.length));
  if (value === undefined) return [first.form.command, ...rest];
  // After `--` a value that looks like an option (`--explain -x`) is still the operand.
  return value.startsWith('-') ? [first.form.command, ...rest, '--', value] : [first.form.command, value, ...rest];
}
