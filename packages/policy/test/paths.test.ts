import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESERVED_RULE_IDS, evaluateScope, resolveWorkspacePath } from '@lumenflow/policy';
import type { EvaluationContext } from '@lumenflow/policy';
import type { Effect } from '@lumenflow/protocol';
import { rule, ruleSet } from './helpers.js';

const layers = {
  cloud: ruleSet([
    rule('allow', { kind: 'fs.read', path: 'src/**' }, 'org.src.read'),
    rule('allow', { kind: 'fs.read', path: '.' }, 'org.root.read'),
    rule('allow', { kind: 'fs.write', path: 'src/**' }, 'org.src.write'),
    rule('deny', { kind: 'fs.read', path: '**/.env' }, 'org.env.read'),
    rule('deny', { kind: 'fs.write', path: '**/.git/**' }, 'org.git.write'),
  ]),
};

const root = '/work/ws';

describe('path normalisation', () => {
  const cases: Array<{ path: string; kind?: 'fs.read' | 'fs.write'; effect: Effect; by: string; why: string }> = [
    { path: 'src/calc.ts', effect: 'allow', by: 'org.src.read', why: 'plain relative path' },
    { path: './src/calc.ts', effect: 'allow', by: 'org.src.read', why: 'leading ./' },
    { path: 'src//calc.ts', effect: 'allow', by: 'org.src.read', why: 'doubled slash' },
    { path: 'src/', effect: 'deny', by: RESERVED_RULE_IDS.defaultDeny, why: 'trailing slash: the directory src itself, which src/** does not cover' },
    { path: 'src/lib/', effect: 'allow', by: 'org.src.read', why: 'trailing slash on a directory under src' },
    { path: 'src\\calc.ts', effect: 'allow', by: 'org.src.read', why: 'backslash separator' },
    { path: 'src/../.env', effect: 'deny', by: 'org.env.read', why: '.. that lands on a denied file' },
    { path: 'src/lib/../../.env', effect: 'deny', by: 'org.env.read', why: 'two levels of ..' },
    { path: 'src\\..\\.env', effect: 'deny', by: 'org.env.read', why: 'backslash .. path' },
    { path: 'src/./.env', effect: 'deny', by: 'org.env.read', why: '.env nested under an allowed directory is still denied' },
    { path: '.ENV', effect: 'deny', by: 'org.env.read', why: 'deny rules match regardless of case' },
    { path: 'config/.Env', effect: 'deny', by: 'org.env.read', why: 'deny rules match regardless of case, nested' },
    { path: 'SRC/calc.ts', effect: 'deny', by: RESERVED_RULE_IDS.defaultDeny, why: 'allow rules match case-sensitively' },
    { path: '../outside.txt', effect: 'deny', by: RESERVED_RULE_IDS.outsideWorkspace, why: 'climbs out' },
    { path: 'src/../../ws/src/calc.ts', effect: 'deny', by: RESERVED_RULE_IDS.outsideWorkspace, why: 'climbs out even if it would come back' },
    { path: '/etc/passwd', effect: 'deny', by: RESERVED_RULE_IDS.outsideWorkspace, why: 'absolute path elsewhere' },
    { path: '/work/ws/src/calc.ts', effect: 'allow', by: 'org.src.read', why: 'absolute path inside the workspace' },
    { path: '/work/ws/../ws/.env', effect: 'deny', by: 'org.env.read', why: 'absolute path with .. inside the workspace' },
    { path: '/work/wsx/src/calc.ts', effect: 'deny', by: RESERVED_RULE_IDS.outsideWorkspace, why: 'a sibling sharing the root as a string prefix' },
    { path: 'C:\\Windows\\win.ini', effect: 'deny', by: RESERVED_RULE_IDS.outsideWorkspace, why: 'drive-letter absolute path' },
    { path: '', effect: 'deny', by: RESERVED_RULE_IDS.invalidInput, why: 'empty string' },
    { path: 'src/calc.ts\0.png', effect: 'deny', by: RESERVED_RULE_IDS.invalidInput, why: 'NUL byte' },
    { path: '.', effect: 'allow', by: 'org.root.read', why: 'the workspace root is "."' },
    { path: 'src/..', effect: 'allow', by: 'org.root.read', why: 'the workspace root by ..' },
    { path: '.git/hooks/pre-commit', kind: 'fs.write', effect: 'deny', by: 'org.git.write', why: 'git metadata' },
    { path: 'src/.git/config', kind: 'fs.write', effect: 'deny', by: 'org.git.write', why: 'nested git metadata beats the src/** allow' },
    { path: 'src/new\nline.ts', effect: 'allow', by: 'org.src.read', why: 'a newline in a file name stays inside one segment' },
  ];
  for (const c of cases) {
    it(`${JSON.stringify(c.path)}: ${c.why}`, () => {
      const decision = evaluateScope(layers, { kind: c.kind ?? 'fs.read', path: c.path }, { workspaceRoot: root });
      expect(decision.effect, c.why).toBe(c.effect);
      expect(decision.decidingRuleId, c.why).toBe(c.by);
    });
  }

  it('without a workspace root, every absolute path is outside', () => {
    const decision = evaluateScope(layers, { kind: 'fs.read', path: '/work/ws/src/calc.ts' });
    expect(decision.decidingRuleId).toBe(RESERVED_RULE_IDS.outsideWorkspace);
  });

  it('records the path as requested, not as normalised', () => {
    const decision = evaluateScope(layers, { kind: 'fs.read', path: 'src/../.env' });
    expect(decision.scope).toEqual({ kind: 'fs.read', target: 'src/../.env' });
  });

  it('normalises Unicode to NFC so a decomposed name cannot dodge a rule', () => {
    const nfc = ruleSet([rule('deny', { kind: 'fs.read', path: 'caf\u00e9.txt' }, 'org.cafe')]);
    const decision = evaluateScope({ cloud: nfc }, { kind: 'fs.read', path: 'cafe\u0301.txt' });
    expect(decision.decidingRuleId).toBe('org.cafe');
    const nfd = ruleSet([rule('deny', { kind: 'fs.read', path: 'cafe\u0301.txt' }, 'org.cafe-nfd')]);
    expect(evaluateScope({ cloud: nfd }, { kind: 'fs.read', path: 'caf\u00e9.txt' }).decidingRuleId).toBe('org.cafe-nfd');
  });
});

describe('symlinks through an injected realpath', () => {
  // A fake filesystem: src/link -> /etc, src/env-link -> /work/ws/.env, lib -> src (all inside).
  const links: Record<string, string> = {
    '/work/ws': '/work/ws',
    '/work/ws/src': '/work/ws/src',
    '/work/ws/src/link': '/etc',
    '/work/ws/src/env-link': '/work/ws/.env',
    '/work/ws/lib': '/work/ws/src',
    '/work/ws/src/calc.ts': '/work/ws/src/calc.ts',
  };
  const context: EvaluationContext = { workspaceRoot: root, realpath: (p) => links[p] };

  it('a link that leads outside the workspace is denied', () => {
    const decision = evaluateScope(layers, { kind: 'fs.read', path: 'src/link/passwd' }, context);
    expect(decision.decidingRuleId).toBe(RESERVED_RULE_IDS.outsideWorkspace);
  });

  it('a link to a denied file is denied under its other name', () => {
    const decision = evaluateScope(layers, { kind: 'fs.read', path: 'src/env-link' }, context);
    expect(decision.effect).toBe('deny');
    expect(decision.decidingRuleId).toBe('org.env.read');
  });

  it('a link inside the workspace needs the real path allowed too', () => {
    // lib/calc.ts is really src/calc.ts: allowed under its real name, but lib/** has no allow.
    const decision = evaluateScope(layers, { kind: 'fs.read', path: 'lib/calc.ts' }, context);
    expect(decision.effect).toBe('deny');
    expect(resolveWorkspacePath('lib/calc.ts', context)).toMatchObject({ ok: true, path: 'lib/calc.ts', aliases: ['src/calc.ts'] });
  });

  it('a file that does not exist yet is judged through its nearest existing directory', () => {
    expect(resolveWorkspacePath('src/link/new-file', context)).toMatchObject({ ok: false, problem: 'outside' });
    expect(evaluateScope(layers, { kind: 'fs.write', path: 'src/new-file.ts' }, context).effect).toBe('allow');
  });
});

describe('symlinks in a real temporary directory', () => {
  let base: string;
  let ws: string;
  let context: EvaluationContext;
  beforeAll(() => {
    base = realpathSync(mkdtempSync(join(tmpdir(), 'lf-policy-')));
    ws = join(base, 'ws');
    mkdirSync(join(ws, 'src'), { recursive: true });
    mkdirSync(join(base, 'secret'));
    writeFileSync(join(base, 'secret', 'key.txt'), 'x');
    writeFileSync(join(ws, '.env'), 'TOKEN=x');
    writeFileSync(join(ws, 'src', 'calc.ts'), '');
    symlinkSync(join(base, 'secret'), join(ws, 'src', 'escape'));
    symlinkSync(join(ws, '.env'), join(ws, 'src', 'settings.txt'));
    context = {
      workspaceRoot: ws,
      realpath: (p) => {
        try {
          return realpathSync(p);
        } catch {
          return undefined;
        }
      },
    };
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('follows a directory link out of the workspace and denies', () => {
    const decision = evaluateScope(layers, { kind: 'fs.read', path: 'src/escape/key.txt' }, context);
    expect(decision.decidingRuleId).toBe(RESERVED_RULE_IDS.outsideWorkspace);
  });

  it('denies a write through a link to a file that does not exist yet outside', () => {
    const decision = evaluateScope(layers, { kind: 'fs.write', path: 'src/escape/new.txt' }, context);
    expect(decision.decidingRuleId).toBe(RESERVED_RULE_IDS.outsideWorkspace);
  });

  it('denies an innocent-looking link to .env', () => {
    const decision = evaluateScope(layers, { kind: 'fs.read', path: 'src/settings.txt' }, context);
    expect(decision.decidingRuleId).toBe('org.env.read');
  });

  it('still allows an ordinary file', () => {
    expect(evaluateScope(layers, { kind: 'fs.read', path: 'src/calc.ts' }, context).effect).toBe('allow');
    expect(evaluateScope(layers, { kind: 'fs.read', path: join(ws, 'src', 'calc.ts') }, context).effect).toBe('allow');
  });
});
