import { z } from 'zod';
import type { ScopeKind } from '@lumenflow/protocol';

// The governed tools an agent sees: names, inputs and hints are a public
// interface (docs/agents.md). Every object is strict: an unknown argument is
// a bad input, recorded and refused, never ignored.

// Every string is well-formed UTF-16: a lone surrogate has no UTF-8 form, so
// no record that names it could be signed (RFC 8785); it is a bad input.
const text = (min: number, max: number) => z.string().min(min).max(max).refine((s) => s.isWellFormed(), 'holds a lone surrogate');
const Path = text(1, 4096);

export const TOOL_INPUTS = {
  read_file: z.strictObject({ path: Path }),
  list_files: z.strictObject({ path: Path.optional() }),
  search: z.strictObject({ pattern: text(1, 1000), path: Path.optional() }),
  write_file: z.strictObject({ path: Path, content: text(0, 8 * 1024 * 1024) }),
  run_tests: z.strictObject({}),
  run_command: z.strictObject({ argv: z.array(text(0, 8192)).min(1).max(256).refine((argv) => argv[0] !== '', 'the program (argv[0]) may not be empty') }),
  git_diff: z.strictObject({}),
  finish: z.strictObject({ title: text(1, 200), body: text(0, 64 * 1024) }),
} as const;

export type ToolName = keyof typeof TOOL_INPUTS;
export type ToolInput<N extends ToolName> = z.infer<(typeof TOOL_INPUTS)[N]>;

/** Every tool, in the order an agent is shown them. */
export const TOOL_NAMES: readonly ToolName[] = Object.freeze(Object.keys(TOOL_INPUTS) as ToolName[]);

export function isToolName(name: string): name is ToolName {
  return Object.hasOwn(TOOL_INPUTS, name);
}

interface ToolEntry {
  /** The scope kind Rules judge the call by (`finish` asks for the pull request). */
  scopeKind: ScopeKind;
  description: string;
  annotations: { readOnlyHint: boolean; destructiveHint: boolean; idempotentHint: boolean; openWorldHint: false };
}

// Hints follow the scope: an fs.read never changes anything; an fs.write or a
// process may (a process's changes are judged as fs.write afterwards).
const READS = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;
const CHANGES = { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false } as const;

export const TOOL_CATALOG: Readonly<Record<ToolName, ToolEntry>> = Object.freeze({
  read_file: { scopeKind: 'fs.read', annotations: READS, description: 'Read a workspace file (a path relative to the repository root). Judged as fs.read of that path.' },
  list_files: {
    scopeKind: 'fs.read',
    annotations: READS,
    description: 'List the files under a workspace directory (default: the root), recursively, without .git. Judged as fs.read of the directory; only files you may read are listed.',
  },
  search: {
    scopeKind: 'fs.read',
    annotations: READS,
    description: 'Find lines holding a literal text (not a regular expression) in the files under a directory (default: the root). Judged as fs.read of the directory; only files you may read are searched.',
  },
  write_file: { scopeKind: 'fs.write', annotations: CHANGES, description: 'Create or replace a workspace file with the given UTF-8 content. Judged as fs.write of that path.' },
  run_tests: {
    scopeKind: 'shell.exec',
    annotations: CHANGES,
    description: "Run the Ask's test command in the sandbox. Judged as shell.exec of that exact command; files it changes are judged as fs.write.",
  },
  run_command: {
    scopeKind: 'shell.exec',
    annotations: CHANGES,
    description: 'Run one program with arguments (argv, no shell) in the sandbox, with the workspace as its only writable directory. Judged as shell.exec of exactly argv; files it changes are judged as fs.write.',
  },
  git_diff: {
    scopeKind: 'shell.exec',
    annotations: { ...READS, idempotentHint: false },
    description: 'Show the change so far: git diff of the workspace against the base commit, new files included. Covered by the pull request the Ask requested.',
  },
  finish: {
    scopeKind: 'pr.create',
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    description: 'End the work: propose the pull request title and body. Nothing else can be called afterwards; the change then waits for a person to approve it.',
  },
});
