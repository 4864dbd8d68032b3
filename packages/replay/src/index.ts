export { readBundleForReplay } from './read-bundle.js';
export { assembleChain, hashBytes } from './assemble-chain.js';
export { CHAIN_CHECK_CODES, checkChain, computeActionHash } from './check-chain.js';
export { buildTimeline } from './build-timeline.js';
export { buildReplayReport, replayBundle } from './replay-report.js';
export { STEP_LABELS, formatDuration, formatReplayReport, sanitizeForTerminal } from './format-replay.js';
export { REPLAY_PAGE_CSP, escapeHtml, renderReplayHtml } from './render-html.js';
export { DEFAULT_REPLAY_BASE_URL, DEFAULT_REPLAY_PORT, buildReplayUrl, startReplayServer } from './serve-replay.js';

export type { ReplayRedaction, ReplayReport } from './replay-report.js';
export type { ReplayServer } from './serve-replay.js';
export type {
  ChainCheck,
  ChainCheckCode,
  ChainFinding,
  ChainLink,
  ChainStep,
  ChainText,
  ChainToolCall,
  ReplayBundleFiles,
  ReplayChain,
  ReplayManifestInfo,
  ReplayReadProblem,
  ReplayReadProblemCode,
  TimelineEvent,
} from './types.js';
