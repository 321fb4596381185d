import { contentText, type Message } from './message-model.js';

export interface ContextWindowOptions {
  /** Tokens in one message; default ≈ 4 characters a token plus 4 for the message frame. */
  tokenCounter?: (message: Message) => number;
}

export const approximateTokens = (message: Message): number => {
  const calls = message.toolCalls ? JSON.stringify(message.toolCalls).length : 0;
  return Math.ceil((contentText(message.content).length + calls) / 4) + 4;
};

const isInstruction = (m: Message) => m.role === 'system' || m.role === 'developer';

/**
 * The transcript in units that stand or fall together: an assistant message
 * with tool calls and the tool messages that answer them form one unit; every
 * other message is a unit of its own. A tool message whose call is not in the
 * transcript belongs to no unit: a chat API rejects a result without its call.
 */
function units(messages: Message[]): Message[][] {
  const out: Message[][] = [];
  const unitOfCall = new Map<string, Message[]>();
  for (const m of messages) {
    if (isInstruction(m)) continue;
    if (m.role === 'tool') {
      unitOfCall.get(m.toolCallId ?? '')?.push(m);
      continue;
    }
    const unit = [m];
    out.push(unit);
    for (const call of m.toolCalls ?? []) unitOfCall.set(call.id, unit);
  }
  return out;
}

/**
 * Keep every system (and developer) message, then as many of the newest other
 * units as fit in what is left of `maxTokens`; return them in their original
 * order. A tool call and its results are kept or dropped together.
 */
export function selectContextWindow(messages: Message[], maxTokens: number, options: ContextWindowOptions = {}): Message[] {
  const count = options.tokenCounter ?? approximateTokens;
  const kept = new Set<Message>(messages.filter(isInstruction));
  let budget = maxTokens - [...kept].reduce((sum, m) => sum + count(m), 0);
  const all = units(messages);
  for (let i = all.length - 1; i >= 0; i--) {
    const unit = all[i] as Message[];
    const cost = unit.reduce((sum, m) => sum + count(m), 0);
    if (cost > budget) break;
    budget -= cost;
    for (const m of unit) kept.add(m);
  }
  return messages.filter((m) => kept.has(m));
}

/** A window that a session's summary stands in part of: the instructions before the summary's end, the summary, the turns after it. */
export interface SummarizedWindow<S> {
  instructions: Message[];
  summary: S;
  turns: Message[];
}

/**
 * The context window of `messages` in `maxTokens`, and when turns must be
 * dropped and the session has a summary (`summaryOf`, asked only then) that
 * covers part of them, the summary in their place: the newest turns after the
 * messages it covers that fit beside it (`cost`: its tokens). Only when at
 * least one such turn fits; otherwise the plain window.
 */
export async function summarizedWindow<S extends { throughMessage: string | null }>(
  messages: Message[],
  maxTokens: number,
  options: ContextWindowOptions,
  summaryOf: () => Promise<S | null>,
  cost: (summary: S) => number,
): Promise<{ window: Message[] } | SummarizedWindow<S>> {
  const window = selectContextWindow(messages, maxTokens, options);
  if (window.length === messages.length) return { window };
  const summary = await summaryOf();
  const through = summary ? messages.findIndex((m) => m.id === summary.throughMessage) : -1;
  if (!summary || through < 0) return { window };
  const instructions = messages.slice(0, through + 1).filter(isInstruction);
  const later = selectContextWindow([...instructions, ...messages.slice(through + 1)], maxTokens - cost(summary), options);
  // selectContextWindow keeps the order given: the instructions come first.
  const turns = later.slice(instructions.length);
  return turns.length ? { instructions, summary, turns } : { window };
}
