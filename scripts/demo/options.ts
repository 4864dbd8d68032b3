/** Every flag of the demo CLI, as commander hands them over. */
export interface CliOptions {
  mode?: 'happy' | 'policy-blocked';
  verify?: string;
  explain?: string;
  replay?: string;
  serve?: boolean;
  port?: number;
  html?: string;
  outDir: string;
  runId?: string;
  signingKey?: string;
  policy?: string;
  localPolicy?: string;
  ask?: string;
  agent?: string;
  repo?: string;
  approve: 'auto' | 'prompt' | 'reject';
  trustedKey?: string;
  expectKeyId?: string;
  clock?: string;
  replayBaseUrl?: string;
  runtime: 'in-process' | 'process';
  sandbox?: 'bubblewrap' | 'off';
  json?: boolean;
  logLevel: 'silent' | 'error' | 'warn' | 'info' | 'debug';
}
