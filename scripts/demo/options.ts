/** `run`: the demo chain. Also `--mode <mode>` with the same options. */
export interface RunOptions {
  mode: 'happy' | 'policy-blocked';
  outDir: string;
  runId?: string;
  signingKey?: string;
  policy?: string;
  localPolicy?: string;
  ask?: string;
  agent?: string;
  repo?: string;
  approve: 'auto' | 'prompt' | 'reject';
  clock?: string;
  replayBaseUrl?: string;
  runtime: 'in-process' | 'process';
  sandbox?: 'bubblewrap' | 'off';
  json?: boolean;
  logLevel: 'silent' | 'error' | 'warn' | 'info' | 'debug';
  /** The pull-request provider and its settings (docs/pull-requests.md). */
  pr?: 'patch' | 'git-remote' | 'github';
  prRemote?: string;
  githubApiUrl?: string;
  githubRepo?: string;
}

/** The signer pin that `verify` and `replay` both take. */
export interface PinOptions {
  trustedKey?: string;
  expectKeyId?: string;
}

/** `verify <dir>`, also `--verify <dir>`. */
export interface VerifyOptions extends PinOptions {
  json?: boolean;
}

/** `replay <dir>`, also `--replay <dir>`. */
export interface ReplayOptions extends PinOptions {
  serve?: boolean;
  port?: number;
  html?: string;
  json?: boolean;
}

/** `explain <scope>`, also `--explain <scope>`. */
export interface ExplainOptions {
  policy?: string;
  localPolicy?: string;
  json?: boolean;
}
