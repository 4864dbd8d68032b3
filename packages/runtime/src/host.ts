import { arch, hostname, platform } from 'node:os';
import { computeSha256Digest } from '@lumenflow/protocol';

/** Facts about the machine a runtime reports. Injected, so a golden run can fix them. */
export interface HostFacts {
  hostname: string;
  os: string;
  arch: string;
  nodeVersion: string;
}

/** The facts of the machine this process runs on. */
export function readHostFacts(): HostFacts {
  return { hostname: hostname(), os: platform(), arch: arch(), nodeVersion: process.version };
}

/** `sha256:` of the host name: enough to tell runs on the same host apart, without naming it. */
export function hashHostname(name: string): string {
  return computeSha256Digest(Buffer.from(name, 'utf8'));
}

/** Labels a runtime offers for dispatch: what it can run, and its OS. */
export function deriveRuntimeLabels(host: HostFacts): string[] {
  return ['git', 'node', `os:${host.os}`];
}
