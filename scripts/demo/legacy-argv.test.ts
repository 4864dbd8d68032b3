import { describe, expect, it } from 'vitest';
import { toCommandArgv } from './legacy-argv.js';

// Each flag form that the README and users type, and the command form it stands for.
const CASES: Array<{ comment: string; argv: string[]; expected: string[] }> = [
  { comment: '--mode keeps its flag under run', argv: ['--mode', 'happy', '--out-dir', '/tmp/x'], expected: ['run', '--mode', 'happy', '--out-dir', '/tmp/x'] },
  { comment: '--mode=… inline', argv: ['--json', '--mode=policy-blocked'], expected: ['run', '--json', '--mode=policy-blocked'] },
  { comment: '--verify <dir> becomes the operand', argv: ['--verify', 'b/run-1', '--expect-key-id', 'sha256:ab'], expected: ['verify', 'b/run-1', '--expect-key-id', 'sha256:ab'] },
  { comment: 'options before the flag form stay', argv: ['--json', '--replay', 'dir', '--serve'], expected: ['replay', 'dir', '--json', '--serve'] },
  { comment: '--explain=… inline', argv: ['--explain=fs.read:.env', '--json'], expected: ['explain', 'fs.read:.env', '--json'] },
  { comment: 'a repeated flag: the last value wins, as commander did', argv: ['--verify', 'a', '--verify', 'b'], expected: ['verify', 'b'] },
  { comment: 'a value that looks like an option is still the operand', argv: ['--explain', '-x'], expected: ['explain', '--', '-x'] },
  { comment: 'a missing value is left for commander to report', argv: ['--verify'], expected: ['verify'] },
  { comment: 'command forms pass through', argv: ['verify', '--mode', 'x'], expected: ['verify', '--mode', 'x'] },
  { comment: 'no flag form: help and unknown options are commander’s', argv: ['--help'], expected: ['--help'] },
  { comment: 'after -- nothing is a flag form', argv: ['--', '--verify', 'x'], expected: ['--', '--verify', 'x'] },
];

describe('toCommandArgv', () => {
  for (const { comment, argv, expected } of CASES) {
    it(comment, () => expect(toCommandArgv(argv), comment).toEqual(expected));
  }

  it('two different flag forms at once are a USAGE error', () => {
    for (const argv of [['--mode', 'happy', '--explain', 'fs.read:a'], ['--verify=a', '--replay', 'b']]) {
      expect(() => toCommandArgv(argv)).toThrow(expect.objectContaining({ code: 'USAGE' }));
    }
  });
});
