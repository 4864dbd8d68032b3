import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// The CLI as an operator runs it: a real tsx process.
const root = resolve(import.meta.dirname, '..', '..', '..');
const cli = join(root, 'scripts', 'demo', 'trusted-compute.ts');
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const dir = mkdtempSync(join(tmpdir(), 'lf-explain-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(tsx, [cli, ...args], { cwd: root, encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('--explain', () => {
  it('explains a denial with the default demo policy and exits 0', () => {
    const { code, stdout } = run('--explain', 'secret.write:production/DATABASE_URL');
    expect(code).toBe(0);
    expect(stdout).toMatch(/effect\s+DENY/);
    expect(stdout).toContain('=> [cloud] org.secrets.production.deny-write');
  });

  it('prints the explanation as JSON with --json, including a local layer', () => {
    const { code, stdout } = run('--explain', 'net.connect:registry.npmjs.org:443', '--local-policy', 'scripts/demo/rules/runtime-local.yaml', '--json');
    expect(code).toBe(0);
    const parsed = JSON.parse(stdout) as { decision: { effect: string; decidingRuleId: string }; layers: unknown[] };
    expect(parsed.decision).toMatchObject({ effect: 'deny', decidingRuleId: 'runtime.net.no-egress' });
    expect(parsed.layers).toHaveLength(2);
  });

  it('exits 2 with one error line for a bad scope', () => {
    const { code, stdout, stderr } = run('--explain', 'fs.delete:x');
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^error SCOPE_INVALID: [^\n]+\n$/);
  });

  it('exits 2 naming file, line and column for a bad rules file', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'version: 1\nrules:\n  - id: org.a.b\n    effect: allow\n    reason: r\n    match: { kind: fs.read, paht: x }\n');
    const { code, stderr } = run('--explain', 'fs.read:x', '--policy', file);
    expect(code).toBe(2);
    // Code and position only; the wording after them is free to improve.
    expect(stderr.startsWith(`error RULES_INVALID: ${file}:6:29: `), stderr).toBe(true);
    expect(stderr.split('\n')).toHaveLength(2);
  });
});
