import { CliError } from './cli-error.js';

/** Milliseconds: the enrollment reply, one tool call, and each wait on the session. */
export interface ChainTimeouts {
  enrollMs?: number;
  toolMs?: number;
  sessionMs?: number;
}

/** Env names of the chain's time bounds, in milliseconds. A child runtime process inherits them. */
export const TIMEOUT_ENV = {
  enrollMs: 'LUMENFLOW_ENROLL_TIMEOUT_MS',
  toolMs: 'LUMENFLOW_TOOL_TIMEOUT_MS',
  sessionMs: 'LUMENFLOW_SESSION_TIMEOUT_MS',
} as const;

/**
 * Reads the time bounds from the environment; unset or empty means the packages' defaults.
 *
 * @throws {CliError} TIMEOUT_INVALID (exit 2) for anything but a positive whole number of milliseconds.
 */
export function readTimeouts(env: NodeJS.ProcessEnv): ChainTimeouts {
  const timeouts: ChainTimeouts = {};
  for (const [key, name] of Object.entries(TIMEOUT_ENV) as Array<[keyof ChainTimeouts, string]>) {
    const text = env[name];
    if (text === undefined || text === '') continue;
    const ms = Number(text);
    if (!/^[0-9]{1,10}$/.test(text) || !Number.isSafeInteger(ms) || ms < 1) {
      throw new CliError('TIMEOUT_INVALID', `${name}=${JSON.stringify(text)}: expected a positive whole number of milliseconds`);
    }
    timeouts[key] = ms;
  }
  return timeouts;
}

/** The environment that hands these bounds to a child process. */
export function timeoutsToEnv(timeouts: ChainTimeouts | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, name] of Object.entries(TIMEOUT_ENV) as Array<[keyof ChainTimeouts, string]>) {
    const ms = timeouts?.[key];
    if (ms !== undefined) env[name] = String(ms);
  }
  return env;
}
