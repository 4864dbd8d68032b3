import { describe, expect, test } from 'vitest';
import { listPatchPaths, unquote } from '../../src/replay/patch-paths.js';

describe('listPatchPaths', () => {
  test('modified, added, deleted, renamed and mode-only files', () => {
    const patch = [
      'diff --git a/src/calc.js b/src/calc.js',
      'index 1..2 100644',
      '--- a/src/calc.js',
      '+++ b/src/calc.js',
      '@@ -1 +1 @@',
      '-a',
      '+b',
      'diff --git a/src/new.js b/src/new.js',
      'new file mode 100644',
      '--- /dev/null',
      '+++ b/src/new.js',
      'diff --git a/old name.txt b/new name.txt',
      'similarity index 100%',
      'rename from old name.txt',
      'rename to new name.txt',
      'diff --git a/run.sh b/run.sh',
      'old mode 100644',
      'new mode 100755',
      'diff --git a/gone.txt b/gone.txt',
      'deleted file mode 100644',
      '--- a/gone.txt',
      '+++ /dev/null',
      '',
    ].join('\n');
    expect(listPatchPaths(patch)).toEqual(['gone.txt', 'new name.txt', 'old name.txt', 'run.sh', 'src/calc.js', 'src/new.js']);
  });

  test('quoted paths are unquoted to the bytes they name', () => {
    const patch = ['diff --git "a/sp\\303\\251c \\"q\\".txt" "b/sp\\303\\251c \\"q\\".txt"', 'new file mode 100644', '--- /dev/null', '+++ "b/sp\\303\\251c \\"q\\".txt"', ''].join('\n');
    expect(listPatchPaths(patch)).toEqual(['spéc "q".txt']);
    expect(unquote('"bad\\q"')).toBeUndefined();
  });

  test('a header line smuggling a second path is still seen through its ---/+++ lines', () => {
    const patch = ['diff --git a/src/ok.js b/src/ok.js', '--- a/src/ok.js', '+++ b/package.json', ''].join('\n');
    expect(listPatchPaths(patch)).toEqual(['package.json', 'src/ok.js']);
  });
});
