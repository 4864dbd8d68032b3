import type { CliOptions } from '../options.js';
import { CliError, EXIT } from '../cli-error.js';

export async function runVerifyCommand(_dir: string, _options: CliOptions): Promise<number> {
  throw new CliError('NOT_IMPLEMENTED', '--verify is not built yet', EXIT.usage);
}
