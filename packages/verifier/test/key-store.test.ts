import { chmod, mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateSigningKeyPem, loadOrCreateSigningKey, parseSigningKeyPem } from '@lumenflow/verifier';
import type { VerifierError } from '@lumenflow/verifier';
import { codeOf } from './support/code-of.js';
import { useTempDirs } from './support/temp-dir.js';

const tempDir = useTempDirs();

async function keyFile(dir: string, name: string, mode = 0o600, text = generateSigningKeyPem()): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text, { mode });
  await chmod(path, mode);
  return path;
}

describe('loadOrCreateSigningKey', () => {
  it('creates the default key 0600 in a 0700 directory, then reuses it', async () => {
    const dir = await tempDir();
    const defaultPath = join(dir, '.lumenflow', 'keys', 'demo-signing-key.pem');
    const first = await loadOrCreateSigningKey({ defaultPath, env: {} });
    expect(first.source).toBe('created');
    expect(first.path).toBe(defaultPath);
    expect((await stat(defaultPath)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, '.lumenflow', 'keys'))).mode & 0o777).toBe(0o700);
    const second = await loadOrCreateSigningKey({ defaultPath, env: {} });
    expect(second.source).toBe('file');
    expect(second.key.keyId).toBe(first.key.keyId);
    expect(parseSigningKeyPem(await readFile(defaultPath, 'utf8')).keyId).toBe(first.key.keyId);
  });

  it('prefers the flag, then LUMENFLOW_SIGNING_KEY, then the default path', async () => {
    const dir = await tempDir();
    const flag = await keyFile(dir, 'flag.pem');
    const env = await keyFile(dir, 'env.pem');
    const defaultPath = await keyFile(dir, 'default.pem');
    const ids = async (path: string): Promise<string> => parseSigningKeyPem(await readFile(path, 'utf8')).keyId;
    const byFlag = await loadOrCreateSigningKey({ flagPath: flag, env: { LUMENFLOW_SIGNING_KEY: env }, defaultPath });
    expect([byFlag.source, byFlag.key.keyId]).toEqual(['flag', await ids(flag)]);
    const byEnv = await loadOrCreateSigningKey({ env: { LUMENFLOW_SIGNING_KEY: env }, defaultPath });
    expect([byEnv.source, byEnv.key.keyId]).toEqual(['env', await ids(env)]);
    const byDefault = await loadOrCreateSigningKey({ env: { LUMENFLOW_SIGNING_KEY: '' }, defaultPath });
    expect([byDefault.source, byDefault.key.keyId]).toEqual(['file', await ids(defaultPath)]);
  });

  it.each([0o644, 0o640, 0o604, 0o660])('refuses a key file with mode %s', async (mode) => {
    const dir = await tempDir();
    const path = await keyFile(dir, 'loose.pem', mode);
    expect(await codeOf(loadOrCreateSigningKey({ defaultPath: path, env: {} }))).toBe('SIGNING_KEY_PERMISSIONS');
    expect(await codeOf(loadOrCreateSigningKey({ flagPath: path, defaultPath: join(dir, 'x.pem'), env: {} }))).toBe('SIGNING_KEY_PERMISSIONS');
  });

  it('refuses a missing flag or env path instead of creating a key there', async () => {
    const dir = await tempDir();
    const defaultPath = join(dir, 'default.pem');
    expect(await codeOf(loadOrCreateSigningKey({ flagPath: join(dir, 'nope.pem'), defaultPath, env: {} }))).toBe('SIGNING_KEY_UNREADABLE');
    expect(await codeOf(loadOrCreateSigningKey({ env: { LUMENFLOW_SIGNING_KEY: join(dir, 'nope.pem') }, defaultPath }))).toBe('SIGNING_KEY_UNREADABLE');
  });

  it('refuses a symbolic link, a directory, and a file that is not a key', async () => {
    const dir = await tempDir();
    const real = await keyFile(dir, 'real.pem');
    await symlink(real, join(dir, 'link.pem'));
    await mkdir(join(dir, 'folder.pem'), { mode: 0o700 });
    const junk = await keyFile(dir, 'junk.pem', 0o600, 'SECRET-LOOKING-CONTENT');
    expect(await codeOf(loadOrCreateSigningKey({ flagPath: join(dir, 'link.pem'), defaultPath: real, env: {} }))).toBe('SIGNING_KEY_NOT_FILE');
    expect(await codeOf(loadOrCreateSigningKey({ flagPath: join(dir, 'folder.pem'), defaultPath: real, env: {} }))).toBe('SIGNING_KEY_NOT_FILE');
    let message = '';
    try {
      await loadOrCreateSigningKey({ flagPath: junk, defaultPath: real, env: {} });
    } catch (error) {
      expect((error as VerifierError).code).toBe('SIGNING_KEY_INVALID');
      message = (error as Error).message;
    }
    expect(message).not.toContain('SECRET-LOOKING-CONTENT');
  });

  it('gives every concurrent first run the same key', async () => {
    const dir = await tempDir();
    const defaultPath = join(dir, 'keys', 'k.pem');
    const loaded = await Promise.all(Array.from({ length: 4 }, () => loadOrCreateSigningKey({ defaultPath, env: {} })));
    expect(new Set(loaded.map((l) => l.key.keyId)).size).toBe(1);
    expect(loaded.filter((l) => l.source === 'created').length).toBe(1);
  });
});
