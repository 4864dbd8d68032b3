/**
 * Bounds on what one tool call hands back to an agent. The evidence hashes the
 * whole output; only what the agent is shown is cut, and the reply says so.
 */
export const TOOL_LIMITS = Object.freeze({
  /** Largest file read_file returns (bytes); a larger one is cut and the reply says so. */
  readBytes: 256 * 1024,
  /** Most paths list_files returns. */
  listEntries: 1000,
  /** Most matching lines search returns. */
  searchMatches: 200,
  /** Files larger than this are not searched (bytes). */
  searchFileBytes: 1024 * 1024,
  /** Longest line of a search hit shown (characters). */
  searchLineChars: 240,
  /** Most of a process's stdout and stderr returned by run_command and run_tests (bytes each). */
  processOutputBytes: 64 * 1024,
  /** Most tool calls one session serves; past it the session ends. */
  callsPerSession: 500,
});

/** Cuts text to `max` bytes of UTF-8 (at a character boundary), with a note when it did. */
export function clip(text: string, max: number): { text: string; clipped: boolean } {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= max) return { text, clipped: false };
  // Decoding a cut multi-byte character gives U+FFFD; drop it.
  const cut = bytes.subarray(0, max).toString('utf8').replace(/\uFFFD$/, '');
  return { text: `${cut}\n[cut: ${bytes.length} bytes, shown ${Buffer.byteLength(cut)}]`, clipped: true };
}
