/** At most this many characters of a row are embedded: embedders take a bounded input, and the start says what a memory is about. */
export const EMBEDDED_CHARACTERS = 8000;

/**
 * The text a memory or message is embedded by: its string; a message's text
 * parts joined; other content as JSON.
 */
export function embeddingTextOf(content: unknown): string {
  let text: string;
  if (typeof content === 'string') text = content;
  else if (Array.isArray(content)) {
    const parts = content
      .map((part) =>
        part && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string' ? (part as { text: string }).text : '',
      )
      .filter(Boolean);
    text = parts.length ? parts.join('\n') : JSON.stringify(content);
  } else text = JSON.stringify(content ?? null);
  return text.slice(0, EMBEDDED_CHARACTERS);
}
