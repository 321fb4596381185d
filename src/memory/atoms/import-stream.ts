/**
 * An atoms file read as it streams, entry by entry, so an import of a million
 * atoms never holds the file: JSON Lines line by line, and a JSON list (or
 * `{"atoms": [...]}`) element by element through a streaming JSON parser.
 */
import { JSONParser } from '@streamparser/json';
import { ValidationError } from '../../errors/index.js';

/** One atom's place in the file: its value, or why it is not JSON; and how far into the file it ended. */
export type StreamedEntry = { index: number; line?: number; value?: unknown; parseError?: string; bytes: number };

/**
 * The form of a file, from its start: a list; JSON Lines when its first line
 * is a whole JSON value (a one-line `{"atoms": [...]}` is that document); else
 * a `{"atoms": [...]}` document over several lines.
 */
function formOf(head: string): 'list' | 'wrapped' | 'lines' {
  const text = head.trimStart();
  if (text.startsWith('[')) return 'list';
  try {
    const first = JSON.parse(text.split(/\r?\n/, 1)[0] ?? '') as { atoms?: unknown } | null;
    return Array.isArray(first?.atoms) ? 'wrapped' : 'lines';
  } catch {
    return text.startsWith('{') ? 'wrapped' : 'lines';
  }
}

export async function* streamAtomEntries(chunks: AsyncIterable<string | Uint8Array>): AsyncGenerator<StreamedEntry> {
  const decoder = new TextDecoder();
  let bytes = 0;
  let head = '';
  let form: ReturnType<typeof formOf> | undefined;
  let index = 0;
  // JSON Lines: the text after the last complete line, and the number of that line.
  let rest = '';
  let line = 0;
  // A list: values the parser has finished, taken out after each chunk.
  const done: unknown[] = [];
  let parser: JSONParser | undefined;
  let failed: Error | undefined;

  const lines = function* (text: string, final: boolean): Generator<StreamedEntry> {
    rest += text;
    const parts = rest.split(/\r?\n/);
    rest = final ? '' : (parts.pop() ?? '');
    for (const part of parts) {
      line += 1;
      if (!part.trim()) continue;
      let entry: StreamedEntry;
      try {
        entry = { index, line, value: JSON.parse(part), bytes };
      } catch (error) {
        entry = { index, line, parseError: (error as Error).message, bytes };
      }
      index += 1;
      yield entry;
    }
  };
  const start = (kind: ReturnType<typeof formOf>) => {
    form = kind;
    if (kind === 'lines') return;
    parser = new JSONParser({ paths: [kind === 'list' ? '$.*' : '$.atoms.*'], keepStack: false });
    parser.onValue = ({ value }) => done.push(value);
    parser.onError = (error) => {
      failed = error;
    };
  };
  const feed = function* (text: string, final: boolean): Generator<StreamedEntry> {
    if (form === 'lines') {
      yield* lines(text, final);
      return;
    }
    if (text) parser?.write(text);
    if (failed) throw new ValidationError(`not valid JSON: ${failed.message}`);
    for (const value of done.splice(0)) yield { index: index++, value, bytes };
  };

  for await (const chunk of chunks) {
    const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
    if (form === undefined) {
      head += text;
      // Enough of the file to tell its form: a list at once; else its first line (an atom may be 1 MiB: up to 4 MiB).
      const begun = head.trimStart();
      if (!begun.startsWith('[') && !begun.includes('\n') && head.length < 4 * 1024 * 1024) continue;
      start(formOf(head));
      yield* feed(head, false);
      continue;
    }
    yield* feed(text, false);
  }
  if (form === undefined) {
    if (!head.trim()) return;
    start(formOf(head));
    yield* feed(head, false);
  }
  yield* feed(decoder.decode(), true);
  if (parser && !parser.isEnded) {
    parser.end();
    if (failed) throw new ValidationError(`not valid JSON: ${(failed as Error).message}`);
  }
  // A document over several lines with no "atoms" list (one pretty-printed atom, say): say so rather than import nothing.
  if (form === 'wrapped' && index === 0 && !/"atoms"\s*:\s*\[/.test(head))
    throw new ValidationError('expected a list of atoms, {"atoms": [...]}, or JSON Lines (one atom per line)');
}
