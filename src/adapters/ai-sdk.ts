/**
 * agentmem/ai-sdk — memory for the Vercel AI SDK (`ai`).
 *
 * @example
 * import { generateText, stepCountIs, wrapLanguageModel } from 'ai';
 * import { agentmemMiddleware, agentmemTools } from 'agentmem/ai-sdk';
 * const model = wrapLanguageModel({ model: openai('gpt-4.1'), middleware: agentmemMiddleware({ memory, sessionId: 'chat-1', scope: 'user-7' }) });
 * await generateText({ model, tools: agentmemTools({ memory, scope: 'user-7' }), stopWhen: stepCountIs(5), prompt });
 *
 * The middleware puts what agentmem remembers for `scope` (a user) that is
 * relevant to the newest user message into the prompt (a system message) —
 * remembered facts, what the user said in earlier conversations, and their
 * typed memories and the knowledge base (memory.context, cited by id), found by
 * meaning — and stores every
 * turn — user messages, assistant text and tool calls, tool results — in the
 * agentmem session whose external id is `sessionId`, once each however many
 * steps see them. The tools let the model remember a fact and recall facts.
 * `aiSdkEmbedder(model, { dimensions })` makes any AI SDK embedding model
 * agentmem's embedder. `ai` (v6) is a peer dependency.
 */
import { createHash } from 'node:crypto';
import { type LanguageModelMiddleware, tool } from 'ai';
import { z } from 'zod';
import type { Items } from '../memory/items.js';
import { type ContentPart, contentText, type MessageInput, type ToolCall } from '../memory/sessions/message-model.js';
import type { Sessions } from '../memory/sessions/sessions.js';
import type { AgentMemory } from '../memory/store.js';

export { AiSdkEmbedder, type AiSdkEmbedderOptions, aiSdkEmbedder } from './ai-sdk-embedder.js';

/** What the adapter needs of an AgentMemory. */
export interface AiSdkStore {
  sessions: Pick<Sessions, 'create' | 'addMessages' | 'idFor' | 'searchMessages'>;
  items: Pick<Items, 'put' | 'search'>;
  /** Context assembly: the user's typed memories and the knowledge base, cited (an AgentMemory has it). */
  context?: AgentMemory['context'];
  /** The user's working memory, which the updateWorkingMemory tool edits (an AgentMemory has it). */
  workingMemory?: Pick<AgentMemory['workingMemory'], 'get' | 'update'>;
}

export interface AgentmemMiddlewareOptions {
  memory: AiSdkStore;
  /** The conversation: the agentmem session with this external id (created on the first turn). Omit to store nothing. */
  sessionId?: string;
  /** Whose memories to put into the prompt (a user id); omit to inject nothing. */
  scope?: string;
  /** How many memories to inject (default 5). */
  recallLimit?: number;
  /** How many of the user's messages from earlier conversations to inject, found by meaning (default 3; 0 for none). */
  recallMessages?: number;
  /** Tokens for the user's typed memories and the knowledge base relevant to the turn, cited by id (default 500; 0 for none). */
  contextTokens?: number;
}

const NAMESPACE = 'ai-sdk-memories';
const MARK = 'agentmem:memories';

const hash = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 32);

// The model-level types, through `ai` (its provider package need not be installed beside it).
type CallOptions = Parameters<NonNullable<LanguageModelMiddleware['transformParams']>>[0]['params'];
type LanguageModelV3Prompt = CallOptions['prompt'];
type PromptMessage = LanguageModelV3Prompt[number];
type StreamResult = Awaited<ReturnType<NonNullable<LanguageModelMiddleware['wrapStream']>>>;
type LanguageModelV3StreamPart = StreamResult['stream'] extends ReadableStream<infer P> ? P : never;

/** Text of a prompt message's text parts. */
function textOf(message: PromptMessage): string {
  if (typeof message.content === 'string') return message.content;
  return message.content.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('');
}

/** A file part as JSON: bytes become base64, a URL its text. */
function filePart(part: { type: 'file'; data: unknown; mediaType: string; filename?: string }): ContentPart {
  const data = part.data instanceof Uint8Array ? Buffer.from(part.data).toString('base64') : String(part.data);
  return { type: 'file', mediaType: part.mediaType, data, ...(part.filename ? { filename: part.filename } : {}) };
}

/**
 * The prompt as agentmem messages, each with an external id from what it
 * says (role, text, the tool calls it makes or answers) and how many times the
 * same was said before: every step of a multi-step call sends the history
 * again, and the same message must be stored once.
 */
function toMessages(prompt: LanguageModelV3Prompt): MessageInput[] {
  const seen = new Map<string, number>();
  const out: MessageInput[] = [];
  const push = (message: MessageInput, identity: unknown) => {
    const key = hash(identity);
    const n = seen.get(key) ?? 0;
    seen.set(key, n + 1);
    out.push({ ...message, externalId: `ai-sdk:${key}:${n}` });
  };
  for (const message of prompt) {
    if (message.role === 'system') {
      if (!message.content.startsWith(MARK)) push({ role: 'system', content: message.content }, ['system', message.content]);
    } else if (message.role === 'user') {
      const onlyText = message.content.every((p) => p.type === 'text');
      const content = onlyText
        ? textOf(message)
        : message.content.map((p) => (p.type === 'text' ? { type: 'text', text: p.text } : filePart(p as Parameters<typeof filePart>[0])));
      push({ role: 'user', content }, ['user', content]);
    } else if (message.role === 'assistant') {
      const toolCalls = message.content.flatMap((p) =>
        p.type === 'tool-call' ? [{ id: p.toolCallId, name: p.toolName, arguments: p.input ?? {} } satisfies ToolCall] : [],
      );
      const text = textOf(message);
      push({ role: 'assistant', content: text, ...(toolCalls.length ? { toolCalls } : {}) }, [
        'assistant',
        text,
        toolCalls.map((c) => c.id),
      ]);
    } else {
      for (const part of message.content) {
        if (part.type !== 'tool-result') continue;
        const output = part.output as { type: string; value?: unknown };
        const content = typeof output.value === 'string' ? output.value : JSON.stringify(output.value ?? output);
        push({ role: 'tool', toolCallId: part.toolCallId, name: part.toolName, content }, ['tool', part.toolCallId]);
      }
    }
  }
  return out;
}

/** The model's answer as the assistant message the next step's prompt will carry. */
function answer(text: string, calls: { toolCallId: string; toolName: string; input: string }[]): PromptMessage {
  return {
    role: 'assistant',
    content: [
      ...(text ? [{ type: 'text' as const, text }] : []),
      ...calls.map((c) => ({ type: 'tool-call' as const, toolCallId: c.toolCallId, toolName: c.toolName, input: parseInput(c.input) })),
    ],
  };
}

function parseInput(input: string): unknown {
  try {
    return JSON.parse(input);
  } catch {
    return input;
  }
}

export function agentmemMiddleware(options: AgentmemMiddlewareOptions): LanguageModelMiddleware {
  const { memory, sessionId, scope } = options;
  let created: Promise<unknown> | undefined;
  const store = async (prompt: LanguageModelV3Prompt) => {
    if (!sessionId) return;
    // The session belongs to the user (scope): their messages are found across their conversations.
    created ??= memory.sessions.create({ externalId: sessionId, ...(scope ? { userId: scope } : {}) });
    await created;
    await memory.sessions.addMessages(memory.sessions.idFor(sessionId), toMessages(prompt));
  };
  /** The user's messages from their other conversations that match the query best (hybrid: by meaning and by words). */
  const earlierMessages = async (query: string): Promise<string[]> => {
    const k = options.recallMessages ?? 3;
    if (!k || !scope) return [];
    const current = sessionId ? memory.sessions.idFor(sessionId) : undefined;
    const found = await memory.sessions.searchMessages(query.slice(0, 2000), { scope: { userId: scope }, roles: ['user'], k: k + 5 });
    return found.hits
      .filter((h) => h.message.sessionId !== current)
      .slice(0, k)
      .map((h) => `- ${contentText(h.message.content).replace(/\s+/g, ' ').slice(0, 500)}`);
  };
  /** The user's typed memories and the knowledge relevant to the query, cited by id, within contextTokens (memory.context). */
  const knownContext = async (query: string): Promise<string> => {
    const budgetTokens = options.contextTokens ?? 500;
    if (!budgetTokens || !scope || !memory.context) return '';
    return (await memory.context({ query: query.slice(0, 2000), scope: { userId: scope }, budgetTokens })).text;
  };
  return {
    specificationVersion: 'v3',
    async transformParams({ params }) {
      if (!scope) return params;
      const lastUser = [...params.prompt].reverse().find((m) => m.role === 'user');
      const query = lastUser ? textOf(lastUser) : '';
      if (!query.trim()) return params;
      const found = await memory.items.search({ namespacePrefix: [NAMESPACE, scope], query, limit: options.recallLimit ?? 5 });
      const facts = found.filter((i) => (i.score ?? 0) > 0).map((i) => `- ${String(i.value.fact)}`);
      const said = await earlierMessages(query);
      const cited = await knownContext(query);
      if (!facts.length && !said.length && !cited) return params;
      const sections = [
        ...(facts.length ? [`What you remember about this user:\n${facts.join('\n')}`] : []),
        ...(said.length ? [`What this user said in earlier conversations:\n${said.join('\n')}`] : []),
        ...(cited ? [cited] : []),
      ];
      const note: PromptMessage = { role: 'system', content: `${MARK}\n${sections.join('\n')}` };
      const at = params.prompt.findIndex((m) => m.role !== 'system');
      const prompt = [...params.prompt];
      prompt.splice(at === -1 ? prompt.length : at, 0, note);
      return { ...params, prompt };
    },
    async wrapGenerate({ doGenerate, params }) {
      const result = await doGenerate();
      const text = result.content.flatMap((c) => (c.type === 'text' ? [c.text] : [])).join('');
      const calls = result.content.flatMap((c) => (c.type === 'tool-call' ? [c] : []));
      await store([...params.prompt, answer(text, calls)]);
      return result;
    },
    async wrapStream({ doStream, params }) {
      const result = await doStream();
      let text = '';
      const calls: { toolCallId: string; toolName: string; input: string }[] = [];
      const collect = new TransformStream<LanguageModelV3StreamPart, LanguageModelV3StreamPart>({
        transform(part, controller) {
          if (part.type === 'text-delta') text += part.delta;
          else if (part.type === 'tool-call') calls.push(part);
          controller.enqueue(part);
        },
        // The turn is stored when the stream ends, before the caller sees it end.
        async flush() {
          await store([...params.prompt, answer(text, calls)]);
        },
      });
      return { ...result, stream: result.stream.pipeThrough(collect) };
    },
  };
}

/**
 * Tools for the model: remember a fact about the user, recall facts relevant
 * to a question, and (with a store that has one) update the user's working
 * memory — the document memory.context() always puts in the prompt.
 */
export function agentmemTools(options: { memory: AiSdkStore; scope: string }) {
  const { memory, scope } = options;
  return {
    remember: tool({
      description: 'Remember a fact about the user for later conversations (a preference, a detail they told you).',
      inputSchema: z.object({ fact: z.string().min(1).max(10_000).describe('the fact, as one sentence') }),
      execute: async ({ fact }) => {
        await memory.items.put({ namespace: [NAMESPACE, scope], key: hash(fact), value: { fact }, embedText: fact });
        return { remembered: fact };
      },
    }),
    recall: tool({
      description: 'Recall what you remember about the user that is relevant to a question.',
      inputSchema: z.object({
        query: z.string().min(1).max(10_000).describe('what you want to know'),
        limit: z.number().int().min(1).max(50).optional(),
      }),
      execute: async ({ query, limit }) => {
        const found = await memory.items.search({ namespacePrefix: [NAMESPACE, scope], query, limit: limit ?? 5 });
        return { facts: found.map((i) => String(i.value.fact)) };
      },
    }),
    ...(memory.workingMemory ? { updateWorkingMemory: workingMemoryTool(memory.workingMemory, scope) } : {}),
  };
}

function workingMemoryTool(workingMemory: NonNullable<AiSdkStore['workingMemory']>, scope: string) {
  return tool({
    description:
      'Update your working memory about the user: a JSON object merged into it (set a key to null to remove it). Keep it short: it is in every prompt.',
    inputSchema: z.object({ patch: z.record(z.string(), z.unknown()).describe('the keys to set (null removes one)') }),
    execute: async ({ patch }) => {
      const document = await workingMemory.update({ userId: scope }, patch);
      return { workingMemory: document.content, tokens: document.tokens };
    },
  });
}
