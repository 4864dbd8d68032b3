import { describe, expect, it } from 'vitest';
import { RESERVED_RULE_IDS, evaluateScope, parseScope } from '@lumenflow/policy';
import type { Effect, Scope } from '@lumenflow/protocol';
import { rule, ruleSet } from './helpers.js';

// Broad allows beside narrow denies and approvals: a spelling that misses the
// narrow rule but names the same target would be a wrong allow.
const layers = {
  cloud: ruleSet([
    rule('allow', { kind: 'secret.write', environment: '*', name: '*' }, 'org.secret.write.any'),
    rule('deny', { kind: 'secret.write', environment: 'production', name: 'DATABASE_URL' }, 'org.secret.db.deny'),
    rule('allow', { kind: 'net.connect', host: '**' }, 'org.net.any'),
    rule('deny', { kind: 'net.connect', host: '127.0.0.1' }, 'org.net.loopback.deny'),
    rule('deny', { kind: 'net.connect', host: '*.internal' }, 'org.net.internal.deny'),
    rule('approval_required', { kind: 'net.connect', host: 'api.github.com', port: 443 }, 'org.net.github.approval'),
    rule('allow', { kind: 'pr.create', repository: '**', base: '**' }, 'org.pr.any'),
    rule('approval_required', { kind: 'pr.create', repository: 'acme/calc', base: 'main' }, 'org.pr.main.approval'),
  ]),
};

const CASES: Array<{ scope: string | Scope; effect: Effect; by: string; why: string }> = [
  { scope: 'secret.write:production/DATABASE_URL', effect: 'deny', by: 'org.secret.db.deny', why: 'the plain name' },
  { scope: 'secret.write:Production/database_url', effect: 'deny', by: 'org.secret.db.deny', why: 'case' },
  { scope: { kind: 'secret.write', environment: 'production', name: 'DATABASE_URL ' }, effect: 'deny', by: RESERVED_RULE_IDS.invalidInput, why: 'trailing space' },
  { scope: { kind: 'secret.write', environment: ' production', name: 'DATABASE_URL' }, effect: 'deny', by: RESERVED_RULE_IDS.invalidInput, why: 'leading space' },
  { scope: 'secret.write:production/DATABASE_*', effect: 'deny', by: RESERVED_RULE_IDS.invalidInput, why: 'a glob in the name' },
  { scope: 'secret.write:prod?ction/DATABASE_URL', effect: 'deny', by: RESERVED_RULE_IDS.invalidInput, why: 'a glob in the environment' },
  { scope: 'secret.write:production/DATABASE_URL/x', effect: 'deny', by: RESERVED_RULE_IDS.invalidInput, why: 'a separator in the name' },
  { scope: { kind: 'secret.write', environment: 'production', name: 'DATABASE_URL\u200b' }, effect: 'deny', by: RESERVED_RULE_IDS.invalidInput, why: 'an invisible format character' },
  { scope: 'secret.write:staging/API_KEY', effect: 'allow', by: 'org.secret.write.any', why: 'an ordinary name stays allowed' },
  { scope: 'net.connect:2130706433:80', effect: 'deny', by: 'org.net.loopback.deny', why: 'IPv4 as one number' },
  { scope: 'net.connect:0x7f.1:80', effect: 'deny', by: 'org.net.loopback.deny', why: 'hex and short IPv4' },
  { scope: 'net.connect:127.1:80', effect: 'deny', by: 'org.net.loopback.deny', why: 'short IPv4' },
  { scope: 'net.connect:[::ffff:127.0.0.1]:80', effect: 'deny', by: 'org.net.loopback.deny', why: 'IPv4-mapped IPv6' },
  { scope: 'net.connect:db%2einternal:80', effect: 'deny', by: 'org.net.internal.deny', why: 'a percent-escaped dot' },
  { scope: 'net.connect:DB.Internal.:80', effect: 'deny', by: 'org.net.internal.deny', why: 'case and the root dot' },
  { scope: 'net.connect:db.internal..:80', effect: 'deny', by: RESERVED_RULE_IDS.invalidInput, why: 'an empty label' },
  { scope: { kind: 'net.connect', host: 'db.internal ', port: 80 }, effect: 'deny', by: RESERVED_RULE_IDS.invalidInput, why: 'a trailing space' },
  { scope: 'net.connect:ＡＰＩ.github.com:443', effect: 'approval_required', by: 'org.net.github.approval', why: 'full-width letters' },
  { scope: 'net.connect:API.GITHUB.COM.:443', effect: 'approval_required', by: 'org.net.github.approval', why: 'case and root dot' },
  { scope: 'net.connect:example.com:443', effect: 'allow', by: 'org.net.any', why: 'an ordinary host stays allowed' },
  { scope: 'pr.create:acme/calc@main', effect: 'approval_required', by: 'org.pr.main.approval', why: 'the plain form' },
  { scope: 'pr.create:ACME/Calc@main', effect: 'approval_required', by: 'org.pr.main.approval', why: 'repository case' },
  { scope: 'pr.create:acme/calc.git@main', effect: 'approval_required', by: 'org.pr.main.approval', why: 'a .git suffix' },
  { scope: 'pr.create:acme/calc@refs/heads/main', effect: 'approval_required', by: 'org.pr.main.approval', why: 'the full ref name' },
  { scope: { kind: 'pr.create', repository: 'acme/calc', base: 'main ' }, effect: 'deny', by: RESERVED_RULE_IDS.invalidInput, why: 'a trailing space on the base' },
  { scope: { kind: 'pr.create', repository: 'acme/calc ', base: 'main' }, effect: 'deny', by: RESERVED_RULE_IDS.invalidInput, why: 'a trailing space on the repository' },
  { scope: 'pr.create:acme/calc@ma*n', effect: 'deny', by: RESERVED_RULE_IDS.invalidInput, why: 'a glob in the base' },
  { scope: 'pr.create:acme/calc@release/1.0', effect: 'allow', by: 'org.pr.any', why: 'a branch with a slash stays allowed' },
  { scope: 'pr.create:acme/.github@main', effect: 'allow', by: 'org.pr.any', why: 'a dot-named repository stays allowed' },
];

describe('one target, many spellings', () => {
  for (const c of CASES) {
    const label = typeof c.scope === 'string' ? c.scope : JSON.stringify(c.scope);
    it(`${label}: ${c.why}`, () => {
      const scope = typeof c.scope === 'string' ? parseScope(c.scope) : c.scope;
      const decision = evaluateScope(layers, scope);
      expect({ effect: decision.effect, by: decision.decidingRuleId }, c.why).toEqual({ effect: c.effect, by: c.by });
    });
  }
});
