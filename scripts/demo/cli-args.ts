import { InvalidArgumentError } from 'commander';

/** Commander parser for `--port`: a whole number from 0 (the OS picks a free port) to 65535. */
export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^[0-9]+$/.test(value) || port > 65535) throw new InvalidArgumentError('expected an integer port from 0 to 65535');
  return port;
}
