// The demo as a user runs it: the real CLI process, real git, real `node --test`,
// real openssl. Each case asserts what a user or a third-party verifier would check.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFile, chmod, cp, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { writeThrowawayKeys } from './support/demo-chain.js';

const ROOT = resolve(import.meta.dirname, '..');
const CLI = join(ROOT, 'scripts/demo/trusted-compute.ts');
const FIXTURE = join(ROOT, 'scripts/demo/fixtures/calc');
const TSX = join(ROOT, 'node_modules/.bin/tsx');

let work: string;
let outDir: string;
let env: NodeJS.ProcessEnv;

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], extraEnv: NodeJS.ProcessEnv = {}): CliRun {
  const result = spawnSync(TSX, [CLI, ...args], { cwd: ROOT, env: { ...env, ...extraEnv }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

async function hashTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string, prefix: string): Promise<void> => {
    for (const entry of (await readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) await walk(path, `${prefix}${entry.name}/`);
      else out[`${prefix}${entry.name}`] = createHash('sha256').update(await readFile(path)).digest('hex');
    }
  };
  await walk(dir, '');
  return out;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lumenflow-cli-test-'));
  outDir = join(work, 'evidence');
  env = { ...process.env, ...(await writeThrowawayKeys(work)), LUMENFLOW_CLOCK: '', NO_COLOR: '1' };
  delete env['LUMENFLOW_DEMO_FIXTURE'];
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('happy mode through the CLI', () => {
  let run: CliRun;
  let summary: { bundleDir: string; signerKeyId: string; bundleMode: string; ending: string; toolCalls: number; verifyCommand: string };
  let fixtureBefore: Record<string, string>;

  beforeAll(async () => {
    fixtureBefore = await hashTree(FIXTURE);
    run = runCli(['--mode', 'happy', '--out-dir', outDir, '--run-id', 'cli-happy', '--json']);
    summary = JSON.parse(run.stdout) as typeof summary;
  });

  test('exits 0 with progress for every step, a pause for approval, and the verify command', () => {
    expect(run.code, run.stderr).toBe(0);
    for (const step of ['✓ Ask', '✓ Dispatch', '✓ Rules', '✓ Tool calls', '⏸ Approvals', '✓ Approvals', '✓ Proof']) expect(run.stderr).toContain(step);
    expect(run.stderr.indexOf('⏸ Approvals')).toBeLessThan(run.stderr.indexOf('✓ Approvals'));
    expect(summary).toMatchObject({ bundleMode: 'happy', ending: 'approved', toolCalls: 5 });
    expect(run.stderr).toContain(summary.verifyCommand);
  });

  test('the bundle verifies through the CLI, pinned to the signer it printed', () => {
    const verify = runCli(['--verify', summary.bundleDir, '--expect-key-id', summary.signerKeyId]);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  });

  test('manifest.sig verifies with openssl against the bundled public key', () => {
    const result = spawnSync(
      'openssl',
      ['pkeyutl', '-verify', '-pubin', '-inkey', 'verifier-public-key.pem', '-rawin', '-in', 'manifest.json', '-sigfile', 'manifest.sig'],
      { cwd: summary.bundleDir, encoding: 'utf8' },
    );
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('Signature Verified Successfully');
  });

  test('file-diff.patch applies cleanly to a fresh copy of the fixture and makes its tests pass', async () => {
    const copy = join(work, 'apply-check');
    await cp(FIXTURE, copy, { recursive: true });
    const patch = join(summary.bundleDir, 'file-diff.patch');
    const check = spawnSync('git', ['apply', '--check', patch], { cwd: copy, encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
    expect(spawnSync('git', ['apply', patch], { cwd: copy }).status).toBe(0);
    expect(spawnSync('node', ['--test'], { cwd: copy }).status).toBe(0);
  });

  test('the log goes next to the bundle, never inside it, and the fixture is untouched', async () => {
    expect((await stat(join(outDir, 'cli-happy.log'))).isFile()).toBe(true);
    expect(await readdir(summary.bundleDir)).not.toContain('cli-happy.log');
    expect(await hashTree(FIXTURE)).toEqual(fixtureBefore);
  });

  test('an existing run id is refused with exit 2 and the bundle is left as it was', async () => {
    const before = await hashTree(summary.bundleDir);
    const again = runCli(['--mode', 'happy', '--out-dir', outDir, '--run-id', 'cli-happy']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/^error RUN_EXISTS: /m);
    expect(await hashTree(summary.bundleDir)).toEqual(before);
  });
});

describe('policy-blocked mode through the CLI', () => {
  test('halts before any tool call, writes a complete signed bundle, and changes nothing', async () => {
    const fixtureBefore = await hashTree(FIXTURE);
    const run = runCli(['--mode', 'policy-blocked', '--out-dir', outDir, '--run-id', 'cli-blocked', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('✗ Rules');
    const summary = JSON.parse(run.stdout) as { bundleDir: string; signerKeyId: string; bundleMode: string; ending: string };
    expect(summary).toMatchObject({ bundleMode: 'policy-blocked', ending: 'blocked' });
    const dir = summary.bundleDir;
    expect((await stat(join(dir, 'tool-calls.jsonl'))).size).toBe(0);
    expect((await stat(join(dir, 'file-diff.patch'))).size).toBe(0);
    const decisions = (await readFile(join(dir, 'policy-decisions.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { effect: string; decidingRuleId: string; reason: string; evaluatedAt: string; scope: { kind: string } });
    const deny = decisions.find((d) => d.effect === 'deny');
    expect(deny).toMatchObject({ evaluatedAt: 'cloud', decidingRuleId: 'org.secrets.production.deny-write', scope: { kind: 'secret.write' } });
    expect(decisions.every((d) => d.evaluatedAt === 'cloud')).toBe(true);
    expect(JSON.parse(await readFile(join(dir, 'test-results.json'), 'utf8'))).toMatchObject({ status: 'not_run' });
    expect(JSON.parse(await readFile(join(dir, 'approval.json'), 'utf8'))).toMatchObject({ status: 'not_requested', request: null });
    expect(await readFile(join(dir, 'pr-summary.md'), 'utf8')).toContain('No pull request');
    expect(await hashTree(FIXTURE)).toEqual(fixtureBefore);
    const verify = runCli(['--verify', dir, '--expect-key-id', summary.signerKeyId]);
    expect(verify.code, verify.stdout).toBe(0);
  });
});

describe('other endings and errors', () => {
  test('--approve reject: no PR, the bundle is still signed and valid, exit 0', async () => {
    const run = runCli(['--mode', 'happy', '--approve', 'reject', '--out-dir', outDir, '--run-id', 'cli-reject', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout) as { bundleDir: string; ending: string; approval: string };
    expect(summary).toMatchObject({ ending: 'rejected', approval: 'rejected' });
    const approval = JSON.parse(await readFile(join(summary.bundleDir, 'approval.json'), 'utf8')) as { resolution: { decision: string; approver: string } };
    expect(approval.resolution).toMatchObject({ decision: 'rejected', approver: 'reviewer.scripted' });
    expect(runCli(['--verify', summary.bundleDir]).code).toBe(0);
  });

  test('a happy --mode run of an Ask that Rules block ends with exit 4, bundle still written', async () => {
    const run = runCli(['--mode', 'happy', '--ask', 'scripts/demo/asks/policy-blocked.json', '--out-dir', outDir, '--run-id', 'cli-mismatch']);
    expect(run.code, run.stderr).toBe(4);
    expect((await stat(join(outDir, 'cli-mismatch', 'manifest.json'))).isFile()).toBe(true);
  });

  test('a bad Ask file is one line with its code and file:line:column, exit 2', async () => {
    const bad = join(work, 'bad-ask.json');
    await writeFile(bad, '{\n  "schemaVersion": 1,\n  "askId": "x",\n  "askId": "y"\n}\n');
    const run = runCli(['--mode', 'happy', '--ask', bad, '--out-dir', outDir, '--run-id', 'cli-bad-ask']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error ASK_INVALID: .*bad-ask\.json:4:3: JSON_DUPLICATE_KEY/m);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);

    const wrongShape = join(work, 'wrong-shape.json');
    const ask = JSON.parse(await readFile(join(ROOT, 'scripts/demo/asks/happy.json'), 'utf8')) as { requestedScopes: Array<{ kind: string }> };
    (ask.requestedScopes[1] as { kind: string }).kind = 'fs.delete';
    await writeFile(wrongShape, JSON.stringify(ask, null, 2));
    const run2 = runCli(['--mode', 'happy', '--ask', wrongShape, '--out-dir', outDir, '--run-id', 'cli-bad-ask']);
    expect(run2.code).toBe(2);
    expect(run2.stderr).toMatch(/^error ASK_INVALID: .*wrong-shape\.json:\d+:\d+: requestedScopes\[1\]/m);
    await expect(stat(join(outDir, 'cli-bad-ask'))).rejects.toThrow();
  });

  test('a bad rules file, a missing fixture and a prompt without a terminal are coded usage errors', async () => {
    const rules = join(work, 'bad-rules.yaml');
    await writeFile(rules, 'version: 1\nrules:\n  - id: org.x\n    efect: allow\n');
    const badRules = runCli(['--mode', 'happy', '--policy', rules, '--out-dir', outDir, '--run-id', 'cli-bad-rules']);
    expect(badRules.code).toBe(2);
    expect(badRules.stderr).toMatch(/^error RULES_[A-Z_]+: /m);

    const missing = runCli(['--mode', 'happy', '--out-dir', outDir, '--run-id', 'cli-no-fixture'], { LUMENFLOW_DEMO_FIXTURE: join(work, 'nowhere') });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error FIXTURE_MISSING: /m);

    const prompt = runCli(['--mode', 'happy', '--approve', 'prompt', '--out-dir', outDir, '--run-id', 'cli-prompt']);
    expect(prompt.code).toBe(2);
    expect(prompt.stderr).toMatch(/^error APPROVAL_NO_TTY: /m);
  });

  test.skipIf(process.platform !== 'linux')('an impossible --out-dir (/proc/nope) is OUT_DIR_UNWRITABLE at once, not an endless mkdir loop', () => {
    const result = spawnSync(TSX, [CLI, '--mode', 'happy', '--out-dir', '/proc/nope', '--run-id', 'cli-proc'], { cwd: ROOT, env, encoding: 'utf8', timeout: 30_000 });
    expect(result.signal, 'the CLI had to be killed').toBeNull();
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^error OUT_DIR_UNWRITABLE: cannot create --out-dir \/proc\/nope \(ENOENT\)$/m);
  });

  test('Ctrl-C during the tool calls exits 130 and leaves no bundle at the final path', async () => {
    // A fixture whose test suite is slow, so the signal lands while `node --test` runs.
    const slow = join(work, 'slow-fixture');
    await cp(FIXTURE, slow, { recursive: true });
    await appendFile(join(slow, 'test/calc.test.js'), "\ntest('slow', async () => { await new Promise((r) => setTimeout(r, 20000)); });\n");
    await chmod(slow, 0o755);
    // `node --import tsx`, not the tsx CLI: that CLI relays SIGINT to its child but
    // SIGKILLs it if no acknowledgement comes within 30 ms, so under load the
    // test would not reach our handler.
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, '--mode', 'happy', '--out-dir', outDir, '--run-id', 'cli-sigint'], {
      cwd: ROOT,
      env: { ...env, LUMENFLOW_DEMO_FIXTURE: slow },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    const exit = new Promise<number | null>((resolveExit) => child.on('close', (code) => resolveExit(code)));
    await new Promise<void>((resolveSeen) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8');
        if (stderr.includes('run_tests') || stderr.includes('write_file succeeded')) resolveSeen();
      });
    });
    child.kill('SIGINT');
    expect(await exit).toBe(130);
    expect(stderr).toMatch(/^error INTERRUPTED: /m);
    await expect(stat(join(outDir, 'cli-sigint'))).rejects.toThrow();
  });
});

describe('commands and the flag forms users already type', () => {
  const summaryOf = (run: CliRun): { bundleDir: string; ending: string; bundleMode: string } => JSON.parse(run.stdout) as { bundleDir: string; ending: string; bundleMode: string };
  const clock = ['--clock', '2026-11-23T10:00:00Z', '--json'];
  let viaFlag: CliRun;

  beforeAll(() => {
    viaFlag = runCli(['--mode', 'policy-blocked', '--out-dir', outDir, '--run-id', 'form-flag', ...clock]);
  });

  test('run --mode and --mode end the same way', () => {
    const viaCommand = runCli(['run', '--mode', 'policy-blocked', '--out-dir', outDir, '--run-id', 'form-command', ...clock]);
    expect([viaFlag.code, viaCommand.code], viaFlag.stderr + viaCommand.stderr).toEqual([0, 0]);
    expect(summaryOf(viaCommand)).toMatchObject({ ending: summaryOf(viaFlag).ending, bundleMode: 'policy-blocked' });
  });

  // Each pair: the command form, then the flag form, which must print the same and exit the same.
  const pairs = (dir: string): Record<string, [string[], string[]]> => ({
    verify: [['verify', dir, '--json'], ['--verify', dir, '--json']],
    replay: [['replay', dir, '--json'], ['--json', '--replay', dir]],
    explain: [['explain', 'fs.write:src/calc.js', '--json'], ['--explain', 'fs.write:src/calc.js', '--json']],
  });
  test.each(['verify', 'replay', 'explain'])('%s <x> and its flag form print the same', (name) => {
    const [command, flag] = pairs(summaryOf(viaFlag).bundleDir)[name] ?? [[], []];
    const a = runCli(command);
    const b = runCli(flag);
    expect(a.code, `${command.join(' ')}: ${a.stderr}`).toBe(0);
    expect({ code: b.code, stdout: b.stdout }, flag.join(' ')).toEqual({ code: a.code, stdout: a.stdout });
  });

  test('each command takes only its own options', () => {
    const run = runCli(['verify', '/nonexistent', '--serve']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error USAGE: unknown option '--serve'$/m);
  });

  test("--help's examples are true: the --explain path exists in the fixture", async () => {
    const help = runCli(['--help']);
    expect(help.code).toBe(0);
    const paths = [...help.stdout.matchAll(/fs\.(?:write|read):([\w./-]+)/g)].map((m) => m[1] ?? '');
    expect(paths.length).toBeGreaterThan(0);
    for (const path of paths) await expect(stat(join(FIXTURE, path)), path).resolves.toBeTruthy();
    for (const command of ['run', 'verify', 'replay', 'explain']) expect(help.stdout).toContain(`  ${command} `);
  });
});
