// pnpm bench:policy — decides 10,000 scopes against a generated 500-rule Cloud
// policy (plus a 20-rule local layer) and prints decisions per second and the
// total time. Deterministic inputs (a seeded PRNG) so runs are comparable.
import { computePolicyDigest, evaluateScope, parseRules } from '@lumenflow/policy';
import type { Rule } from '@lumenflow/policy';
import type { Effect, Scope } from '@lumenflow/protocol';

const RULES = 500;
const SCOPES = 10_000;
const ROUNDS = 3;

// mulberry32: tiny, seeded, good enough to spread inputs.
function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = createRandom(20261123);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

const DIRS = ['src', 'test', 'lib', 'docs', 'config', 'scripts', 'packages/a', 'packages/b', 'vendor', '.github'];
const FILES = ['index.ts', 'calc.js', 'calc.test.js', '.env', 'key.pem', 'README.md', 'package.json', 'data.json', 'main.go', 'x.yaml'];
const EFFECTS: Effect[] = ['allow', 'allow', 'allow', 'deny', 'approval_required'];

function generateRule(i: number): Rule {
  const effect = pick(EFFECTS);
  const id = `bench.rule-${String(i).padStart(4, '0')}`;
  const reason = `generated rule ${i}`;
  switch (i % 6) {
    case 0:
    case 1:
      return { id, effect, reason, match: { kind: pick(['fs.read', 'fs.write'] as const), path: `${pick(DIRS)}/${pick(['**', '*', `**/${pick(FILES)}`, `*.{ts,js}`])}` } };
    case 2:
      return { id, effect, reason, match: { kind: 'shell.exec', program: pick(['node', 'git', 'cat', 'npm', 'make']), args: [pick(['--test', 'diff', 'run', 'src/calc.js']), { regex: `[a-z0-9-]{1,${1 + (i % 40)}}` }] } };
    case 3:
      return { id, effect, reason, match: { kind: pick(['secret.read', 'secret.write'] as const), environment: pick(['production', 'staging', '*']), name: `${pick(['DB', 'API', 'TOKEN'])}_*` } };
    case 4:
      return { id, effect, reason, match: { kind: 'net.connect', host: `${pick(['*.', ''])}host${i % 50}.example.com`, port: pick([443, 80, 8080]) } };
    default:
      return { id, effect, reason, match: { kind: 'pr.create', repository: `org${i % 20}/*`, base: pick(['main', 'release/*']) } };
  }
}

function generateScope(): Scope {
  switch (Math.floor(random() * 6)) {
    case 0:
    case 1:
      return { kind: pick(['fs.read', 'fs.write'] as const), path: `${pick(['', './', 'src/../'])}${pick(DIRS)}/${pick(['', 'deep/'])}${pick(FILES)}` };
    case 2: {
      const program = pick(['node', 'git', 'cat', 'npm', 'make', 'sh']);
      const args = program === 'sh' ? ['-c', `cat ${pick(FILES)}`] : [pick(['--test', 'diff', 'run', 'src/calc.js']), pick(['abc', 'build', '.env', 'x'.repeat(30)])];
      return { kind: 'shell.exec', program, args };
    }
    case 3:
      return { kind: pick(['secret.read', 'secret.write'] as const), environment: pick(['production', 'staging', 'dev']), name: `${pick(['DB', 'API', 'TOKEN'])}_URL` };
    case 4:
      return { kind: 'net.connect', host: `${pick(['', 'api.'])}host${Math.floor(random() * 60)}.example.com`, port: pick([443, 80, 8080]) };
    default:
      return { kind: 'pr.create', repository: `org${Math.floor(random() * 25)}/calc`, base: pick(['main', 'release/1', 'dev']) };
  }
}

const rulesText = JSON.stringify({ version: 1, rules: Array.from({ length: RULES }, (_, i) => generateRule(i)) }, null, 2);
const localText = JSON.stringify({ version: 1, rules: Array.from({ length: 20 }, (_, i) => ({ ...generateRule(i + 10_000), id: `bench.local-${i}` })) }, null, 2);
const scopes = Array.from({ length: SCOPES }, generateScope);

const parseStart = process.hrtime.bigint();
const cloud = parseRules(rulesText, { fileName: 'bench-cloud.json' });
const local = parseRules(localText, { fileName: 'bench-local.json' });
const parseMs = Number(process.hrtime.bigint() - parseStart) / 1e6;
computePolicyDigest({ cloud, local });

const context = { workspaceRoot: '/bench/ws' };
const counts: Record<Effect, number> = { allow: 0, deny: 0, approval_required: 0 };
let best = Infinity;
for (let round = 0; round < ROUNDS; round++) {
  const start = process.hrtime.bigint();
  for (const scope of scopes) {
    const decision = evaluateScope({ cloud, local }, scope, context);
    if (round === 0) counts[decision.effect]++;
  }
  best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e6);
}

const line = (label: string, value: string): void => void process.stdout.write(`${label.padEnd(28)} ${value}\n`);
line('rules (cloud + local)', `${cloud.rules.length} + ${local.rules.length} (${(rulesText.length / 1024).toFixed(0)} KiB JSON)`);
line('parse + validate + compile', `${parseMs.toFixed(1)} ms`);
line('scopes', `${SCOPES} (fs, shell, secret, net, pr mixed)`);
line('effects', `allow ${counts.allow}, approval_required ${counts.approval_required}, deny ${counts.deny}`);
line('total time (best of 3)', `${best.toFixed(1)} ms`);
line('decisions per second', `${Math.round(SCOPES / (best / 1000)).toLocaleString('en-US')}`);
line('mean per decision', `${((best * 1000) / SCOPES).toFixed(1)} µs`);
