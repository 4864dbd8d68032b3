import type { CliOptions } from '../options.js';
import { CliError, EXIT } from '../cli-error.js';

export async function runExplainCommand(_scope: string, _options: CliOptions): Promise<number> {
  throw new CliError('NOT_IMPLEMENTED', '--explain is not built yet', EXIT.usage);
}
