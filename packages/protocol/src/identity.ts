import { z } from 'zod';

// Who asked and who approved are compared to enforce "nobody approves their own
// request". Unicode makes one name look like another: a zero-width space inside
// it, fullwidth letters, a Cyrillic "а" for a Latin "a". Rather than chase every
// confusable (UTS #39 skeletons change with each Unicode version, and two
// implementations of them can disagree), an operator or approver id is restricted
// to a small ASCII syntax and compared with ASCII case folded. Display names stay
// free text; they are shown, never compared. docs/connections.md states the rule.

/** An operator or approver id: 1-128 of ASCII letters, digits and `. _ - : @`, starting with a letter or digit. */
export const PRINCIPAL_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

export const PrincipalIdSchema = z.string().regex(PRINCIPAL_ID_PATTERN, 'expected 1-128 ASCII letters, digits or . _ - : @, starting with a letter or digit');

/** The form ids are compared in: the id with ASCII letters lowercased, or undefined when it is not the syntax. */
export function principalKey(id: string): string | undefined {
  return PRINCIPAL_ID_PATTERN.test(id) ? id.toLowerCase() : undefined;
}

/**
 * Compares two principal ids under the one rule Cloud and Replay share.
 * `invalid` when either is outside the syntax: such an id cannot be told apart
 * from a look-alike, so a caller treats it as the same person, never as another.
 */
export function comparePrincipals(a: string, b: string): 'same' | 'different' | 'invalid' {
  const ka = principalKey(a);
  const kb = principalKey(b);
  if (ka === undefined || kb === undefined) return 'invalid';
  return ka === kb ? 'same' : 'different';
}
