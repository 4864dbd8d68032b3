// The canary suite (issue 13, docs/secrets.md): distinct canary secrets are
// planted where secrets live in practice (the runtime's environment, the PR
// provider's token, a `.env` the Ask may read, a file an agent writes, test
// output in every encoding, an error message). The real chain runs (the demo
// CLI, a real agent process over MCP in the sandbox, real git, real tests),
// then every byte it produced (bundle, log, stdout and stderr, the Replay
// page, text and JSON) is searched for every canary in every encoding.
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runGit } from '@lumenflow/runtime';
import { verifyBundle } from '@lumenflow/verifier';
import { writeThrowawayKeys } from '../support/demo-chain.js';
import { ALL, CANARY, hits, leakTestSource, readTree } from './canaries.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'scripts/demo/trusted-compute.ts');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const TEST_COMMAND = ['node', '--test', '--test-reporter=tap', 'test/leak.test.js'];

const leakTest = leakTestSource();

let work: string;
let repo: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lumenflow-canary-'));
  env = {
    ...process.env,
    ...(await writeThrowawayKeys(work)),
    LUMENFLOW_CLOCK: '2026-12-02T10:00:00.000Z',
    CANARY_SECRET_ENV: CANARY.env,
    CANARY_MULTI_ENV: CANARY.envMulti,
    GITHUB_TOKEN: CANARY.providerToken,
  };
  repo = join(work, 'acme');
  for (const dir of ['src', 'test', 'tools', '.agent']) await mkdir(join(repo, dir), { recursive: true });
  await writeFile(join(repo, 'package.json'), '{ "type": "module" }\n');
  await writeFile(join(repo, 'src/calc.js'), 'export function add(a, b) {\n  return a - b;\n}\n');
  await writeFile(join(repo, 'test/leak.test.js'), leakTest);
  await writeFile(join(repo, '.env'), `# the service's credentials\nAPI_KEY=${CANARY.dotenv}\nexport PRIVATE_BLOCK="${CANARY.dotenvMulti.replace(/\n/g, '\\n')}"\nPORT=3000\n`);
  await writeFile(
    join(repo, 'tools/copy-env.js'),
    "import { readFileSync, writeFileSync } from 'node:fs';\nwriteFileSync('src/leaked.txt', readFileSync('.env', 'utf8'));\nwriteFileSync('src/aws.txt', JSON.parse(readFileSync('.agent/canaries.json', 'utf8')).awsKey + '\\n');\nconsole.log('copied');\n",
  );
  await writeFile(join(repo, 'tools/fail.js'), "import { readFileSync } from 'node:fs';\nconst key = /API_KEY=(.*)/.exec(readFileSync('.env', 'utf8'))[1];\nthrow new Error('the API refused key ' + key);\n");
  await writeFile(join(repo, '.agent/canaries.json'), JSON.stringify({ all: ALL, agentToken: CANARY.agentToken, awsKey: CANARY.awsKey }));
  await build({ entryPoints: [join(ROOT, 'test/secrets/canary-agent.ts')], bundle: true, platform: 'node', format: 'cjs', target: 'node20', outfile: join(repo, '.agent/agent.cjs'), logLevel: 'silent' });
  await runGit(repo, ['init', '--quiet', '--initial-branch=main']);
  await runGit(repo, ['add', '--all']);
  await runGit(repo, ['commit', '--quiet', '-m', 'acme'], new Date('2026-12-01T00:00:00Z'));

  const ask = {
    schemaVersion: 1,
    askId: 'ask-canary',
    operator: { id: 'op.sam', displayName: 'Sam' },
    intent: 'Fix add; the suite prints what it finds.',
    workspace: { repository: 'acme/calc', baseBranch: 'main' },
    requestedScopes: [
      { kind: 'fs.read', path: '.env' },
      { kind: 'fs.read', path: 'src/calc.js' },
      { kind: 'fs.read', path: 'test/leak.test.js' },
      { kind: 'fs.write', path: 'src/**' },
      { kind: 'shell.exec', program: 'node', args: ['tools/copy-env.js'] },
      { kind: 'shell.exec', program: 'node', args: ['tools/fail.js'] },
      { kind: 'shell.exec', program: 'node', args: TEST_COMMAND.slice(1) },
      { kind: 'pr.create', repository: 'acme/calc', base: 'main' },
    ],
    runtimeLabels: ['node', 'git'],
    createdAt: '2026-12-02T09:00:00.000Z',
    testCommand: TEST_COMMAND,
  };
  await writeFile(join(work, 'ask.json'), JSON.stringify(ask));
  await writeFile(
    join(work, 'policy.yaml'),
    `version: 1
rules:
  - { id: acme.env.read, effect: allow, match: { kind: fs.read, path: ".env" }, reason: the service config, secretFile: true }
  - { id: acme.read, effect: allow, match: { kind: fs.read, path: "{src,test,tools}/**" }, reason: source tests and tools }
  - { id: acme.write, effect: allow, match: { kind: fs.write, path: "src/**" }, reason: source }
  - { id: acme.tools, effect: allow, match: { kind: shell.exec, program: node, args: [{ regex: "tools/(copy-env|fail)\\\\.js" }] }, reason: the tools }
  - { id: acme.test, effect: allow, match: { kind: shell.exec, program: node, args: ["--test", "--test-reporter=tap", "test/leak.test.js"] }, reason: the suite }
  - { id: acme.diff, effect: allow, match: { kind: shell.exec, program: git, args: ["diff", "--no-color", "--no-ext-diff", "--no-textconv", "--binary", "--full-index", { regex: "[0-9a-f]{40}" }] }, reason: the diff }
  - { id: acme.pr, effect: approval_required, match: { kind: pr.create, repository: acme/calc, base: main }, reason: a person approves }
`,
  );
  await writeFile(join(work, 'local.yaml'), 'version: 1\nrules: []\nsecretEnv: [CANARY_SECRET_ENV, CANARY_MULTI_ENV]\n');
}, 120_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function runCli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(TSX, [CLI, ...args], { cwd: ROOT, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 240_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('canary suite: the real chain never lets a secret out', () => {
  test('every byte produced holds no canary in any encoding; the refusals and summaries are in the Proof, and it verifies', async () => {
    const out = join(work, 'out');
    const run = runCli(['--mode', 'happy', '--repo', repo, '--ask', join(work, 'ask.json'), '--policy', join(work, 'policy.yaml'), '--local-policy', join(work, 'local.yaml'), '--agent', 'node .agent/agent.cjs {mcpConfig}', '--out-dir', out, '--run-id', 'canary', '--log-level', 'debug', '--json']);
    const dir = join(out, 'canary');
    expect(run.stderr, run.stderr).toContain('Bundle');
    const html = join(work, 'replay.html');
    const replayText = runCli(['replay', dir]);
    const replayJson = runCli(['replay', dir, '--json', '--html', html]);
    const outputs = new Map<string, string>([
      ['run stdout', run.stdout],
      ['run stderr', run.stderr],
      ['replay stdout', replayText.stdout + replayText.stderr],
      ['replay --json stdout', replayJson.stdout + replayJson.stderr],
      ...(await readTree(out)),
      [html, await readFile(html, 'latin1')],
    ]);
    expect(hits(outputs)).toEqual([]);

    // The run did what the canaries needed: it ran to the refused write.
    expect(run.stderr).toContain('runtime-halted');
    expect([...outputs.keys()].some((k) => k.endsWith('canary.log'))).toBe(true);
    const report = await verifyBundle(dir);
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(JSON.parse(replayJson.stdout).verdict).toBe('VALID');

    const decisions = (await readFile(join(dir, 'policy-decisions.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    // The agent's pasted key: refused by the reserved rule, never written.
    const refused = decisions.filter((d) => d['decidingRuleId'] === 'policy.secret.in-content');
    expect(refused.some((d) => d['attribution'] === undefined && (d['scope'] as { target: string }).target === 'src/config.js')).toBe(true);
    // The process's copies of .env and the AWS key: reverted by attribution under the same rule.
    for (const path of ['src/leaked.txt', 'src/aws.txt']) {
      expect(refused.some((d) => (d['scope'] as { target: string }).target === path && (d['attribution'] as { reverted: boolean } | undefined)?.reverted === true)).toBe(true);
    }
    const patch = await readFile(join(dir, 'file-diff.patch'), 'utf8');
    expect(patch).toContain('+  return a + b;');
    expect(patch).toContain('tools whose replies showed a canary: none');
    expect(patch).not.toContain('leaked.txt');
    // Summaries say what was redacted, where, never the values.
    const tests = JSON.parse(await readFile(join(dir, 'test-results.json'), 'utf8')) as { redaction?: { count: number; kinds: string[]; fields: string[] } };
    expect(tests.redaction?.kinds).toEqual(expect.arrayContaining(['env-secret', 'provider-token', 'secret-file', 'github-token']));
    expect(tests.redaction?.fields.every((f) => /^tests\[\d+\]\.name$/.test(f))).toBe(true);
    expect(replayText.stdout).toContain('Redactions');
    expect(await readFile(html, 'utf8')).toContain('data-testid="redactions"');
  }, 300_000);
});
