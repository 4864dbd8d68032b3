/**
 * The pull request's title and body as one text, pr-summary.md: `# <title>`,
 * a blank line, then the body. The approval hashes this text, so the title and
 * body a provider sends are exactly the ones approved when, and only when, they
 * join back into the approved bytes.
 */
export interface PrText {
  title: string;
  body: string;
}

/** Joins a title and body into pr-summary.md's form. */
export function joinPrText(text: PrText): string {
  return `# ${text.title}\n\n${text.body}`;
}

/** Splits pr-summary.md into its title and body; undefined when the text does not start `# <title>` and a blank line. */
export function splitPrText(prText: string): PrText | undefined {
  const match = /^# ([^\n]+)\n\n/.exec(prText);
  if (match?.[1] === undefined || match[1].trim() === '') return undefined;
  return { title: match[1], body: prText.slice(match[0].length) };
}
