// The README is where a new user starts: it must name what the CLI offers.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

function help(...args: string[]): string {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/demo/trusted-compute.ts', ...args, '--help'], { cwd: ROOT, encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
  return result.stdout;
}

describe('README.md', () => {
  it.each(['run', 'verify', 'replay', 'explain'])('names the %s command and every option its --help lists', (command) => {
    expect(README).toContain(`\`${command}`);
    const options = [...help(command).matchAll(/^\s+(?:-\w, )?(--[a-z][a-z-]*)/gm)].map((m) => m[1] ?? '').filter((o) => o !== '--help');
    expect(options.length).toBeGreaterThan(0);
    for (const option of options) expect(README, `${command} ${option}`).toContain(`\`${option}`);
  });

  it('names the flag forms users type, the signing key mode, and the key that signs cloud serve bundles', () => {
    for (const form of ['--mode happy', '--verify <', '--replay <', '--explain ']) expect(README).toContain(form);
    expect(README).toMatch(/0600 or stricter/);
    expect(README).toContain('<data-dir>/cloud-key.pem');
  });
});
