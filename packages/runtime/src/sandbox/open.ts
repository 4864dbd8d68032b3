import { createBubblewrapSandbox } from './bubblewrap.js';
import type { SandboxLimits } from './profile.js';
import type { Sandbox, SandboxMode } from './sandbox.js';
import { createUnsandboxed } from './unsandboxed.js';
import { omitUndefined } from '@lumenflow/protocol';

/** What a runtime's local configuration says about the boundary. */
export interface SandboxSettings {
  mode: SandboxMode;
  /** Host paths that must not be visible to tool processes (keys, data and evidence directories). */
  hide?: readonly string[];
  limits?: Partial<SandboxLimits>;
}

/**
 * The sandbox a runtime's settings ask for. `off` is the explicit opt-out,
 * recorded in node-session.json and every tool call.
 *
 * @throws {RuntimeError} SANDBOX_UNAVAILABLE when `bubblewrap` cannot be had here.
 */
export async function openSandbox(settings: SandboxSettings): Promise<Sandbox> {
  if (settings.mode === 'off') return createUnsandboxed("the runtime's local configuration turned the sandbox off");
  return createBubblewrapSandbox(omitUndefined({ hide: settings.hide, limits: settings.limits }));
}

/** Reads a sandbox mode from a flag or LUMENFLOW_SANDBOX; undefined when the value is not one. */
export function parseSandboxMode(value: string | undefined): SandboxMode | undefined {
  if (value === undefined || value === '' || value === 'bubblewrap') return 'bubblewrap';
  if (value === 'off') return 'off';
  return undefined;
}
