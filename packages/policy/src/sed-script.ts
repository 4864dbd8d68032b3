/**
 * Whether a sed script is made only of commands that touch no file and run
 * nothing. sed is a language: `r`/`R` read files, `w`/`W` write them, `e` and
 * the `e` flag of `s` run shell commands, `s///w FILE` writes. Looking for
 * those letters in the text cannot be done soundly (`s/x/y/;1e touch P` hides
 * the `e` between two `s` commands), so this recognises a small whitelist
 * grammar instead and calls everything else opaque:
 *
 *   script   := (sep* command (blank* sep | end))*      sep := `;` | newline | blank
 *   command  := [address [`,` address2]] blank* [`!` blank*] verb
 *   address  := digits [`~` digits] | `$` | `/regex/` [`I`|`M`]*
 *   address2 := address | `+`digits | `~`digits
 *   verb     := one of `= d D g G h H n N p P x z`, or `l`/`q`/`Q` [digits],
 *               or `s<d>regex<d>replacement<d>` flags from `g p i I m M 0-9`,
 *               or `y<d>from<d>to<d>`
 *
 * `<d>` is one of a few ASCII punctuation characters. A regex or replacement
 * ends at the first delimiter not preceded by a backslash, as GNU sed's
 * `match_slash` reads it (it knows nothing of `[...]`); a raw newline inside
 * one, or a trailing backslash, is refused. Anything not in the grammar
 * (`a`/`i`/`c` text, labels and branches, `{}` blocks, comments, `\cREc`
 * addresses, `F`, `v`) is refused too: a false "opaque" costs a rule, a false
 * "plain" would cost the boundary.
 */
export function isPlainSedScript(script: string): boolean {
  const s = script;
  let i = 0;
  const blanks = (): void => {
    while (s[i] === ' ' || s[i] === '\t') i++;
  };
  const digits = (): boolean => {
    const start = i;
    while (i < s.length && (s[i] as string) >= '0' && (s[i] as string) <= '9') i++;
    return i > start;
  };
  // After an opening delimiter: through the closing one.
  const delimited = (delimiter: string): boolean => {
    while (i < s.length) {
      const c = s[i] as string;
      if (c === '\n') return false;
      if (c === '\\') {
        if (i + 1 >= s.length || s[i + 1] === '\n') return false;
        i += 2;
        continue;
      }
      i++;
      if (c === delimiter) return true;
    }
    return false;
  };
  const regexAddress = (): boolean => {
    i++; // the opening `/`
    if (!delimited('/')) return false;
    while (s[i] === 'I' || s[i] === 'M') i++;
    return true;
  };
  const address = (second: boolean): boolean => {
    const c = s[i];
    if (c === '$') {
      i++;
      return true;
    }
    if (c === '/') return regexAddress();
    if (second && (c === '+' || c === '~')) {
      i++;
      return digits();
    }
    if (!digits()) return false;
    if (!second && s[i] === '~') {
      i++;
      return digits();
    }
    return true;
  };

  for (;;) {
    while (i < s.length && (s[i] === ';' || s[i] === '\n' || s[i] === ' ' || s[i] === '\t')) i++;
    if (i >= s.length) return true;
    const first = s[i] as string;
    if (first === '$' || first === '/' || (first >= '0' && first <= '9')) {
      if (!address(false)) return false;
      blanks();
      if (s[i] === ',') {
        i++;
        blanks();
        if (!address(true)) return false;
      }
      blanks();
    }
    if (s[i] === '!') {
      i++;
      blanks();
    }
    const verb = s[i];
    i++;
    if (verb === undefined) return false;
    if ('=dDgGhHnNpPxz'.includes(verb)) {
      // nothing follows
    } else if (verb === 'l' || verb === 'q' || verb === 'Q') {
      blanks();
      digits();
    } else if (verb === 's' || verb === 'y') {
      const delimiter = s[i];
      if (delimiter === undefined || !SAFE_DELIMITERS.includes(delimiter)) return false;
      i++;
      if (!delimited(delimiter) || !delimited(delimiter)) return false;
      if (verb === 's') while (i < s.length && S_FLAGS.includes(s[i] as string)) i++;
    } else {
      return false;
    }
    blanks();
    if (i >= s.length) return true;
    if (s[i] !== ';' && s[i] !== '\n') return false;
  }
}

const SAFE_DELIMITERS = '/|,:#@%_+=^!.';
// Not `e` (runs the pattern space as a command) and not `w` (writes a file).
const S_FLAGS = 'gpiImM0123456789';
