/**
 * A prompt-ready block of what an agent should know for its next turn: the
 * user's and the session's working memory, the most relevant memories and
 * knowledge for the query (each cited by id), and the newest turns of the
 * session that fit (after the session's summary, when turns are dropped) —
 * never over the token budget. Working memory, memories and knowledge take at
 * most half the budget; the turns the rest (and whatever the first half left).
 */
import { z } from 'zod';
import type { Atoms } from './atoms/atoms.js';
import type { AtomHit } from './atoms/search.js';
import type { Memories, MemoryHit } from './memories/memories.js';
import { scopeSchema } from './recall/recall-input.js';
import { type ContextWindowOptions, summarizedWindow } from './sessions/context-window.js';
import { contentText, type Message } from './sessions/message-model.js';
import type { SessionSummary, Sessions } from './sessions/sessions.js';
import { approximateTextTokens } from './tokens.js';
import { cleanText, parseInput, uuid } from './validation.js';
import { type WorkingMemory, workingMemoryText } from './working/working-memory.js';

export const contextSchema = z
  .object({
    /** The conversation whose newest turns are included (and whose newest user message is the default query). */
    sessionId: uuid.optional(),
    /** What the memories and knowledge should be relevant to (default: the session's newest user message). */
    query: cleanText(2000).optional(),
    /** Whose memories (default: the session's user). */
    scope: scopeSchema.optional(),
    /** The most tokens the block may take. */
    budgetTokens: z.number().int().min(1).max(1_000_000),
    /** How many memories and knowledge atoms at most (default 5 and 3). */
    memories: z.number().int().min(0).max(100).default(5),
    knowledge: z.number().int().min(0).max(100).default(3),
  })
  .strict();
export type ContextOptions = z.input<typeof contextSchema> & {
  /** Tokens in a text; default ≈ 4 characters a token. Pass the model's tokenizer for an exact budget. */
  countTokens?: (text: string) => number;
};

export interface AssembledContext {
  /** The block to put in a prompt: cited memories, cited knowledge, then the turns. */
  text: string;
  /** Its size by `countTokens`: never more than the budget. */
  tokens: number;
  turns: Message[];
  memories: MemoryHit[];
  knowledge: AtomHit[];
  /** Set when the query could not be embedded: memories came from full text alone. */
  degraded?: 'embedder';
}

export { approximateTextTokens };

const oneLine = (text: string, max = 500) => text.replace(/\s+/g, ' ').trim().slice(0, max);
const memoryLine = (hit: MemoryHit) =>
  `- [memory ${hit.memory.id}] (${hit.memory.type}) ${oneLine(typeof hit.memory.content === 'string' ? hit.memory.content : JSON.stringify(hit.memory.content))}`;
const atomLine = (hit: AtomHit) => `- [atom ${hit.atom.atomId}] ${oneLine(`${hit.atom.title}: ${hit.atom.summary ?? hit.atom.content}`)}`;
const turnLine = (m: Message) => `${m.name ? `${m.role} (${m.name})` : m.role}: ${oneLine(contentText(m.content), 4000)}`;

export async function assembleContext(
  parts: { sessions: Sessions; memories: Memories; atoms: Atoms; workingMemory: WorkingMemory },
  input: ContextOptions,
): Promise<AssembledContext> {
  const { countTokens = approximateTextTokens, ...rest } = input;
  const o = parseInput(contextSchema, rest, 'context options');
  const session = o.sessionId ? await parts.sessions.get(o.sessionId) : null;
  const transcript = session ? await parts.sessions.getMessages(session.id) : [];
  const query = o.query?.trim() || [...transcript].reverse().find((m) => m.role === 'user')?.content;
  const queryText = query === undefined ? undefined : typeof query === 'string' ? query : contentText(query);
  const scope = o.scope ?? (session?.userId ? { userId: session.userId } : {});

  let memories: MemoryHit[] = [];
  let knowledge: AtomHit[] = [];
  let degraded: 'embedder' | undefined;
  if (queryText?.trim()) {
    if (o.memories) {
      const found = await parts.memories.search(queryText.slice(0, 2000), { scope, k: o.memories });
      memories = found.hits;
      degraded = found.degraded;
    }
    if (o.knowledge) {
      // Knowledge is a help, not a condition: a search it cannot run (atoms of another model) leaves it out.
      knowledge = await parts.atoms
        .search(queryText.slice(0, 2000), { mode: 'hybrid', limit: o.knowledge })
        .then((r) => r.results)
        .catch(() => []);
    }
  }

  // Cited lines first, within half the budget; each section's header only with a line under it.
  const lines: string[] = [];
  let used = 0;
  const fits = (line: string, limit: number) => used + countTokens(`${line}\n`) <= limit;
  const section = (header: string, items: string[], limit: number): void => {
    const kept: string[] = [];
    for (const item of items) {
      const cost = countTokens(`${item}\n`) + (kept.length ? 0 : countTokens(`${header}\n`));
      if (used + cost > limit) break;
      used += cost;
      kept.push(item);
    }
    if (kept.length) lines.push(header, ...kept);
  };
  const half = Math.floor(o.budgetTokens / 2);
  // Working memory is always in context (the user's, then the session's), within the first half.
  const documents = [
    ...(scope.userId ? [await parts.workingMemory.get({ userId: scope.userId })] : []),
    ...(session ? [await parts.workingMemory.get({ sessionId: session.id })] : []),
  ]
    .map(workingMemoryText)
    .filter(Boolean);
  section('Working memory:', documents, half);
  section('Relevant memories:', memories.map(memoryLine), half);
  section('Relevant knowledge:', knowledge.map(atomLine), half);
  const citedMemories = memories.filter((h) => lines.includes(memoryLine(h)));
  const citedKnowledge = knowledge.filter((h) => lines.includes(atomLine(h)));

  // The newest turns that fit in what is left (a tool call and its results together).
  const header = 'Conversation so far:';
  let turns: Message[] = [];
  if (transcript.length && fits(header, o.budgetTokens)) {
    const left = o.budgetTokens - used - countTokens(`${header}\n`);
    const options: ContextWindowOptions = { tokenCounter: (m) => countTokens(`${turnLine(m)}\n`) };
    // The agent's own instructions are its prompt's, not the context's: only the conversation's turns.
    const conversation = transcript.filter((m) => m.role !== 'system' && m.role !== 'developer');
    // Turns dropped: the session's summary stands in for those it covers, when one was written and fits.
    const summaryLines = (summary: SessionSummary) => ['Summary of the earlier conversation:', oneLine(summary.text, 8000)];
    const found = await summarizedWindow(
      conversation,
      left,
      options,
      () => (session ? parts.sessions.latestSummary(session.id) : Promise.resolve(null)),
      (summary) => summaryLines(summary).reduce((sum, line) => sum + countTokens(`${line}\n`), 0),
    );
    if ('window' in found) turns = found.window;
    else {
      const shown = summaryLines(found.summary);
      lines.push(...shown);
      used += shown.reduce((sum, line) => sum + countTokens(`${line}\n`), 0);
      turns = found.turns;
    }
    if (turns.length) {
      lines.push(header, ...turns.map(turnLine));
      used += countTokens(`${header}\n`) + turns.reduce((sum, m) => sum + countTokens(`${turnLine(m)}\n`), 0);
    }
  }
  const text = lines.join('\n');
  return {
    text,
    tokens: used,
    turns,
    memories: citedMemories,
    knowledge: citedKnowledge,
    ...(degraded ? { degraded } : {}),
  };
}
