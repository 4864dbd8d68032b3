import { describe, expect, it } from 'vitest';
import { DEFAULT_SECRET_FILES, PolicyError, createRuleSet, isSecretFile, parseRules, secretFilePatterns } from '@lumenflow/policy';

const cloud = createRuleSet(
  {
    version: 1,
    rules: [
      { id: 'org.creds.read', effect: 'allow', match: { kind: 'fs.read', path: 'config/creds/**' }, reason: 'service credentials', secretFile: true },
      { id: 'org.src.read', effect: 'allow', match: { kind: 'fs.read', path: 'src/**' }, reason: 'source' },
    ],
  },
  'cloud.yaml',
);
const local = createRuleSet({ version: 1, rules: [{ id: 'rt.key.deny', effect: 'deny', match: { kind: 'fs.write', path: 'deploy/*.key' }, reason: 'keys', secretFile: true }], secretEnv: ['DB_PASSWORD'] }, 'local.yaml', { local: true });

describe('secret files: a rule marks a path secret', () => {
  it('dotenv files are secret by default, at any depth and in any case', () => {
    expect(DEFAULT_SECRET_FILES).toEqual(['**/.env', '**/.env.*']);
    for (const path of ['.env', 'svc/.env', '.env.production', './app/.ENV']) expect(isSecretFile({ cloud }, path)).toBe(true);
    for (const path of ['src/env.js', '.envrc', 'src/.env-example']) expect(isSecretFile({ cloud }, path)).toBe(false);
  });

  it('secretFile: true on an fs rule of either layer marks its paths, whatever its effect', () => {
    expect(secretFilePatterns({ cloud, local })).toEqual(['config/creds/**', 'deploy/*.key']);
    expect(isSecretFile({ cloud, local }, 'config/creds/db.json')).toBe(true);
    expect(isSecretFile({ cloud, local }, 'deploy/prod.key')).toBe(true);
    expect(isSecretFile({ cloud }, 'deploy/prod.key')).toBe(false);
    expect(isSecretFile({ cloud, local }, 'src/app.js')).toBe(false);
    expect(isSecretFile({ cloud, local }, '../outside/.env')).toBe(false);
  });

  it('secretFile on another kind of rule is a RULES_INVALID error, located', () => {
    const text = 'version: 1\nrules:\n  - { id: a.b, effect: deny, match: { kind: net.connect, host: x }, reason: r, secretFile: true }\n';
    expect(() => parseRules(text, { fileName: 'bad.yaml' })).toThrow(PolicyError);
    expect(() => parseRules(text, { fileName: 'bad.yaml' })).toThrow(/secretFile applies only to an fs.read or fs.write rule/);
  });

  it('secretEnv names environment variables, never values, in a local file only; a bad name is refused', () => {
    expect(local.document.secretEnv).toEqual(['DB_PASSWORD']);
    expect(() => parseRules('version: 1\nrules: []\nsecretEnv: ["not a name"]\n', { fileName: 'bad.yaml', local: true })).toThrow(/environment variable name/);
    expect(() => parseRules('version: 1\nrules: []\nsecretEnv: [DB_PASSWORD]\n', { fileName: 'cloud.yaml' })).toThrow(/only a runtime's local rules file/);
  });
});
