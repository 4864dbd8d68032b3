// What an agent says about itself or names (its MCP client name and version, a
// tool name it made up) is untrusted text that ends up in signed evidence and
// on somebody's terminal. Control and format characters (C0, DEL, C1, bidi
// overrides, zero-width marks), line and paragraph separators and lone
// surrogates (which RFC 8785 cannot encode) become U+FFFD.
const NOT_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu;

/** `text` cut to `max` UTF-16 code units, then every character that is not printable replaced by U+FFFD. */
export function printable(text: string, max: number): string {
  // Cut first: a cut through a surrogate pair leaves a lone half, which is then replaced too.
  return text.slice(0, max).replace(NOT_PRINTABLE, '\ufffd');
}
