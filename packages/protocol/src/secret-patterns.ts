/**
 * One high-specificity secret format: a kind (what `[REDACTED:<kind>]` names)
 * and a regular expression source. Data, not code: docs/secrets.md lists these
 * and a test keeps the two in step.
 *
 * Only formats with a fixed, distinctive prefix or framing belong here. There
 * is no entropy guessing: evidence is full of sha256 digests, base64
 * signatures and git object ids, and blanking those would break the Proof.
 */
export interface SecretPattern {
  kind: string;
  /** A JavaScript regular expression source, no flags, no capturing groups. */
  source: string;
  /**
   * Fixed strings every match starts with. The redactor scans for these (and
   * the known values) first and tries the pattern only where one occurs, so
   * a pattern's cost is paid at its candidates, not at every position.
   */
  anchors: readonly string[];
  /** For docs/secrets.md: what it matches. */
  description: string;
}

/** The built-in pattern list. Order matters only where two could match at one position: the first wins. */
export const SECRET_PATTERNS: readonly SecretPattern[] = Object.freeze([
  {
    kind: 'private-key',
    anchors: ['-----BEGIN '],
    // Also its JSON-escaped form (`\n` as two characters); a header whose END never comes takes the base64 body after it.
    source: String.raw`-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]{0,16384}?-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s\\]*)`,
    description: 'PEM private key block (RSA, EC, OPENSSH, PKCS#8, encrypted, PGP), including its JSON-escaped form',
  },
  {
    kind: 'aws-access-key',
    anchors: ['AKIA', 'ASIA', 'ABIA', 'ACCA', 'AGPA', 'AIDA', 'AROA', 'ANPA', 'ANVA', 'AIPA'],
    source: String.raw`\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z2-7]{16}\b`,
    description: 'AWS access key id (AKIA…, ASIA…, and the other IAM unique-id prefixes), 20 characters',
  },
  {
    kind: 'github-token',
    anchors: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'],
    source: String.raw`\bgh[pousr]_[A-Za-z0-9]{36,251}\b`,
    description: 'GitHub token: personal (ghp_), OAuth (gho_), user-to-server (ghu_), server-to-server (ghs_), refresh (ghr_)',
  },
  {
    kind: 'github-token',
    anchors: ['github_pat_'],
    source: String.raw`\bgithub_pat_[A-Za-z0-9_]{22,255}\b`,
    description: 'GitHub fine-grained personal access token (github_pat_)',
  },
  {
    kind: 'gitlab-token',
    anchors: ['glpat-'],
    source: String.raw`\bglpat-[A-Za-z0-9_-]{20,64}\b`,
    description: 'GitLab personal access token (glpat-)',
  },
  {
    kind: 'slack-token',
    anchors: ['xoxa-', 'xoxb-', 'xoxp-', 'xoxo-', 'xoxs-', 'xoxr-'],
    source: String.raw`\bxox[abposr]-[A-Za-z0-9-]{10,250}`,
    description: 'Slack bot, user, app or refresh token (xoxb-, xoxp-, xoxa-, xoxo-, xoxs-, xoxr-)',
  },
  {
    kind: 'slack-webhook',
    anchors: ['https://hooks.slack.com/'],
    source: String.raw`https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9_/-]{20,200}`,
    description: 'Slack incoming webhook URL',
  },
  {
    kind: 'stripe-key',
    anchors: ['sk_live_', 'sk_test_', 'rk_live_', 'rk_test_', 'whsec_live_', 'whsec_test_'],
    source: String.raw`\b(?:sk|rk|whsec)_(?:live|test)_[A-Za-z0-9]{16,247}\b`,
    description: 'Stripe secret or restricted key (sk_live_, sk_test_, rk_live_, rk_test_)',
  },
  {
    kind: 'google-api-key',
    anchors: ['AIza'],
    source: String.raw`\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])`,
    description: 'Google API key (AIza + 35 characters)',
  },
  {
    kind: 'npm-token',
    anchors: ['npm_'],
    source: String.raw`\bnpm_[A-Za-z0-9]{36}\b`,
    description: 'npm access token (npm_ + 36 characters)',
  },
  {
    kind: 'anthropic-key',
    anchors: ['sk-ant-'],
    source: String.raw`\bsk-ant-(?:api|admin)[0-9]{2}-[A-Za-z0-9_-]{80,120}`,
    description: 'Anthropic API key (sk-ant-api03-…)',
  },
  {
    kind: 'openai-key',
    anchors: ['sk-'],
    source: String.raw`\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,200}T3BlbkFJ[A-Za-z0-9_-]{20,200}`,
    description: 'OpenAI API key (carries the marker T3BlbkFJ)',
  },
  {
    kind: 'jwt',
    anchors: ['eyJ'],
    source: String.raw`\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`,
    description: 'JSON Web Token: base64url header and payload that both start with `{"`, and a signature',
  },
]);
