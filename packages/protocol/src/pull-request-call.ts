import type { ToolCallRecord } from './schemas.js';

/** The tool name of the pull-request call. Only Cloud makes it; no runtime serves a tool by this name. */
export const OPEN_PULL_REQUEST_TOOL = 'open_pull_request';

/**
 * Whether a tool-call record is Cloud's pull-request call: the `open_pull_request`
 * tool on a `pr.create` scope, carrying its `pullRequest` output. Such a call is
 * Cloud's record (gated by a Cloud decision, covered by the bundle signature),
 * never the runtime's, so it carries no runtime receipt. Every other record is
 * the runtime's, whatever it claims.
 */
export function isPullRequestCall(call: ToolCallRecord): boolean {
  return call.tool === OPEN_PULL_REQUEST_TOOL && call.scope.kind === 'pr.create' && call.pullRequest !== undefined;
}
