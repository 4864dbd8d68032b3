import { describe, expect, it } from 'vitest';
import { PROVIDER_TOKEN_ENV, secretFileValues, secretsFromEnvironment } from '@lumenflow/protocol';

describe('secret sources', () => {
  it('reads the named variables and the provider token, skipping unset and empty ones', () => {
    const env = { DB_PASSWORD: 'hunter2-but-longer', EMPTY: '', [PROVIDER_TOKEN_ENV]: 'token-value-123456' };
    expect(secretsFromEnvironment(env, ['DB_PASSWORD', 'EMPTY', 'MISSING'])).toEqual([
      { value: 'token-value-123456', kind: 'provider-token' },
      { value: 'hunter2-but-longer', kind: 'env-secret' },
    ]);
    expect(secretsFromEnvironment({})).toEqual([]);
  });

  it('takes the values of a dotenv file, quotes and comments removed, multi-line values joined', () => {
    const text = '# creds\nAPI_KEY=abc123def456\nexport TOKEN="quoted value"\nSINGLE=\'single quoted\'\nPEM="line-one\\nline-two"\nPORT=3000 # the port\nEMPTY=\n';
    expect(secretFileValues(text)).toEqual(['abc123def456', 'quoted value', 'single quoted', 'line-one\nline-two', '3000']);
  });

  it('takes the whole text of a file that is not dotenv (a key file)', () => {
    const pem = '-----BEGIN KEY-----\nabcdefgh\n-----END KEY-----\n';
    expect(secretFileValues(pem)).toEqual([pem.trim()]);
    expect(secretFileValues('  \n')).toEqual([]);
  });
});
