export { RuntimeError } from './errors.js';
export { deriveRuntimeLabels, hashHostname, readHostFacts } from './host.js';
export { DEFAULT_ENROLL_TIMEOUT_MS, DEFAULT_TOOL_TIMEOUT_MS, RUNTIME_VERSION, createRuntime } from './runtime.js';
export { createScriptedPlanner, fixAdd } from './scripted-planner.js';
export { TOOL_CATALOG, TOOL_INPUTS, TOOL_NAMES } from './tool-host/catalog.js';
export { createToolHost } from './tool-host/host.js';
export { createJudge } from './tool-host/judge.js';
export { TOOL_LIMITS } from './tool-limits.js';
export { MCP_SERVER_NAME, buildInstructions, createMcpToolServer } from './mcp/server.js';
export { SCRIPTED_AGENT_NAME, runScriptedAgent } from './mcp/scripted-agent.js';
export { MCP_CONFIG_PLACEHOLDER, runProcessAgent } from './mcp/process-agent.js';
export { AGENT_PLACEHOLDERS, AGENT_PRESETS, expandAgentCommand, tomlString } from './mcp/agent-command.js';
export type { AgentCommandValues, AgentPreset } from './mcp/agent-command.js';
export { BRIDGE_SOURCE, buildMcpConfig } from './mcp/bridge.js';
export { makeAgentDirectory, serveMcpSocket } from './mcp/mcp-socket.js';
export type { AgentDirectory, McpSocket } from './mcp/mcp-socket.js';
export { createRuntimeSender, createSessionEvidence } from './signed-messages.js';
export type { RuntimeSend } from './signed-messages.js';
export { DEFAULT_EGRESS_LIMITS, EGRESS_PROXY_ENV, EGRESS_PROXY_PORT, openAgentEgress, startEgressProxy } from './egress/index.js';
export type { EgressLookup, EgressProxy, EgressProxyLimits, EgressProxyOptions, EgressSettings } from './egress/index.js';
export { parseTapResults } from './tap.js';
export { readServedRepository, repositoryFromRemoteUrl } from './repository.js';
export { checkoutWorkspace } from './checkout.js';
export { TEST_COMMAND, buildDiffCommand, describeStepInput, executeStep, scopeOfStep } from './tools.js';
export { BASELINE_AUTHOR, buildGitEnv, isWorkspaceUnchanged, listFixtureFiles, prepareWorkspace, runGit } from './workspace.js';
export { createWorkspaceContext } from './workspace-context.js';
export {
  DEFAULT_SANDBOX_LIMITS,
  attributeChanges,
  createBubblewrapSandbox,
  probeBubblewrap,
  createSnapshotter,
  createUnsandboxed,
  diffSnapshots,
  openSandbox,
  parseSandboxMode,
} from './sandbox/index.js';
export type { AttributedChange, Sandbox, SandboxLimits, SandboxMode, SandboxSettings, SandboxedResult, Snapshot, SnapshotChange } from './sandbox/index.js';

export {
  DEFAULT_RETRY_POLICY,
  RUNTIME_STATE_FILES,
  checkDispatch,
  connectRuntime,
  createConnectionsClient,
  createHttpRuntimeEndpoint,
  openOutbox,
  postEnrollment,
  signRequestHeaders,
} from './connections/index.js';

export type { RuntimeErrorCode } from './errors.js';
export type { HostFacts } from './host.js';
export type { Runtime, RuntimeOptions } from './runtime.js';
export type { AgentPlanner, AgentStep, StepObservation } from './scripted-planner.js';
export type { ParsedTestRun } from './tap.js';
export type { StepContext, StepResult } from './tools.js';
export type { ToolInput, ToolName } from './tool-host/catalog.js';
export type { EvidenceSink, WorkEnd } from './tool-host/evidence.js';
export type { ToolHost, ToolHostOptions, ToolReply } from './tool-host/host.js';
export type { Judge } from './tool-host/judge.js';
export type { AgentClientInfo } from './mcp/server.js';
export type { Workspace } from './workspace.js';
export type {
  ConnectFailure,
  ConnectedRuntime,
  ConnectionsClient,
  ConnectionsReply,
  DispatchCheck,
  HttpRuntimeEndpoint,
  HttpRuntimeEndpointOptions,
  Outbox,
  RetryPolicy,
  RuntimeState,
} from './connections/index.js';
