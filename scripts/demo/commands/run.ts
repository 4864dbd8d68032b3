import type { CliOptions } from '../options.js';
import { CliError, EXIT } from '../cli-error.js';

export async function runDemoCommand(_options: CliOptions): Promise<number> {
  throw new CliError('NOT_IMPLEMENTED', '--mode is not built yet', EXIT.usage);
}
