import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@lumenflow/verifier';

// How an operator command finds a running Cloud and proves it may speak for the
// operator: `cloud serve` publishes its URL in `<data-dir>/operator.json` and
// accepts the secret in `<data-dir>/operator-token` (0600). Whoever can read the
// data directory is an operator, as before; nobody else on the machine is, even
// though the port is open to every local user.

export interface OperatorAddress {
  url: string;
  pid: number;
}

export function operatorPaths(dataDir: string): { address: string; token: string } {
  return { address: join(dataDir, 'operator.json'), token: join(dataDir, 'operator-token') };
}

/** The data directory's operator token, created once (0600) if it does not exist. */
export async function loadOrCreateOperatorToken(dataDir: string): Promise<string> {
  const path = operatorPaths(dataDir).token;
  try {
    const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    const token = randomBytes(32).toString('hex');
    await handle.writeFile(`${token}\n`);
    await handle.sync();
    await handle.close();
    return token;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return (await readFile(path, 'utf8')).trim();
}

/** Reads the token, or undefined when there is none. */
export async function readOperatorToken(dataDir: string): Promise<string | undefined> {
  return readFile(operatorPaths(dataDir).token, 'utf8').then(
    (t) => t.trim(),
    () => undefined,
  );
}

/** Compares a presented bearer token with the expected one in constant time. */
export function checkOperatorToken(presented: string | undefined, expected: string): boolean {
  if (presented === undefined) return false;
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export async function publishOperatorAddress(dataDir: string, address: OperatorAddress): Promise<void> {
  await writeFileAtomic(operatorPaths(dataDir).address, `${JSON.stringify(address)}\n`);
}

export async function readOperatorAddress(dataDir: string): Promise<OperatorAddress | undefined> {
  try {
    const value = JSON.parse(await readFile(operatorPaths(dataDir).address, 'utf8')) as OperatorAddress;
    return typeof value.url === 'string' && Number.isSafeInteger(value.pid) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Removes the published address if it is still this server's. */
export async function withdrawOperatorAddress(dataDir: string, url: string): Promise<void> {
  if ((await readOperatorAddress(dataDir))?.url === url) await rm(operatorPaths(dataDir).address, { force: true });
}
