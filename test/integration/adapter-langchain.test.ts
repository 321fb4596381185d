/**
 * agentmem/langchain against the real @langchain/core from npm, imported as a
 * user imports it (the package's subpath export, built): a chat history that
 * loses nothing LangChain keeps, used by LangChain's own RunnableWithMessageHistory.
 */
import { AIMessage, type BaseMessage, HumanMessage, SystemMessage, ToolMessage } from '@langchain/core/messages';
import { ChatPromptTemplate, MessagesPlaceholder } from '@langchain/core/prompts';
import { RunnableWithMessageHistory } from '@langchain/core/runnables';
import { FakeListChatModel } from '@langchain/core/utils/testing';
import { AgentmemChatMessageHistory, AgentmemRetriever } from 'agentmem/langchain';
import { describe, expect, it } from 'vitest';
import { useBackends } from '../harness/backends.js';

const { backend, tenant } = useBackends('lc');
const names = ['pg-vector', 'pglite'] as const;

/** A modern agent transcript in LangChain's own classes, every field set that a real one carries. */
function transcript(): BaseMessage[] {
  return [
    new SystemMessage({ content: 'You are a support agent.', id: 'sys-1' }),
    new SystemMessage({ content: 'Answer in English.', id: 'dev-1', additional_kwargs: { __openai_role__: 'developer' } }),
    new HumanMessage({
      id: 'h-1',
      name: 'alice',
      content: [
        { type: 'text', text: 'Is this part in stock?' },
        { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
      ],
      additional_kwargs: { client: 'web' },
    }),
    new AIMessage({
      id: 'ai-1',
      content: 'Let me check.',
      tool_calls: [
        { id: 'call_1', name: 'stock', args: { sku: 'A-1' }, type: 'tool_call' },
        { id: 'call_2', name: 'price', args: { sku: 'A-1', currency: 'EUR' }, type: 'tool_call' },
      ],
      additional_kwargs: { reasoning: 'two lookups' },
      response_metadata: { model_name: 'gpt-test', finish_reason: 'tool_calls' },
      usage_metadata: { input_tokens: 12, output_tokens: 7, total_tokens: 19 },
    }),
    new ToolMessage({ id: 't-1', tool_call_id: 'call_1', name: 'stock', content: '3 left', artifact: { rows: 3 }, status: 'success' }),
    new ToolMessage({ id: 't-2', tool_call_id: 'call_2', name: 'price', content: [{ type: 'text', text: '12 EUR' }], status: 'success' }),
    new AIMessage({ id: 'ai-2', content: 'Yes: 3 left, 12 EUR each.', response_metadata: { finish_reason: 'stop' } }),
  ];
}

describe.each(names)('agentmem/langchain on %s', (name) => {
  it('a BaseListChatMessageHistory that brings every message back field by field, idempotent by id', async () => {
    const memory = await backend(name).memory(tenant());
    const history = new AgentmemChatMessageHistory({ memory, sessionId: 'thread-7', session: { agentId: 'support' } });
    expect(await history.getMessages()).toEqual([]);
    const sent = transcript();
    await history.addMessages(sent.slice(0, 3));
    for (const message of sent.slice(3)) await history.addMessage(message);
    const got = await history.getMessages();
    expect(got.map((m) => m.type)).toEqual(sent.map((m) => m.type));
    for (const [i, message] of sent.entries()) {
      const want = message.toDict();
      const have = (got[i] as BaseMessage).toDict();
      expect(have.type, `${i}`).toBe(want.type);
      for (const field of Object.keys({ ...want.data, ...have.data })) {
        expect((have.data as unknown as Record<string, unknown>)[field], `${i}.${field}`).toEqual(
          (want.data as unknown as Record<string, unknown>)[field],
        );
      }
    }
    // Tool results come back as ToolMessages, the calls as tool_calls: the types LangChain's agents need.
    expect(got[4]).toBeInstanceOf(ToolMessage);
    expect((got[3] as AIMessage).tool_calls?.map((c) => c.id)).toEqual(['call_1', 'call_2']);
    // The same messages again (a retried turn): nothing doubles.
    await history.addMessages(sent);
    expect(await history.getMessages()).toHaveLength(sent.length);
    // Another history object on the same thread sees the same session.
    const session = await memory.sessions.get(history.agentmemSessionId);
    expect(session).toMatchObject({ externalId: 'thread-7', agentId: 'support' });
    expect(await new AgentmemChatMessageHistory({ memory, sessionId: 'thread-7' }).getMessages()).toHaveLength(sent.length);
    await history.clear();
    expect(await history.getMessages()).toEqual([]);
    await history.addMessage(new HumanMessage('after the clear'));
    expect((await history.getMessages()).map((m) => m.content)).toEqual(['after the clear']);
  });

  it('works as the history of LangChain’s RunnableWithMessageHistory', async () => {
    const memory = await backend(name).memory(tenant());
    const model = new FakeListChatModel({ responses: ['Hello Ada.', 'Your name is Ada.'] });
    const prompt = ChatPromptTemplate.fromMessages([
      ['system', 'You remember names.'],
      new MessagesPlaceholder('history'),
      ['human', '{input}'],
    ]);
    const chain = new RunnableWithMessageHistory({
      runnable: prompt.pipe(model),
      getMessageHistory: (sessionId: string) => new AgentmemChatMessageHistory({ memory, sessionId }),
      inputMessagesKey: 'input',
      historyMessagesKey: 'history',
    });
    const config = { configurable: { sessionId: 'conversation-1' } };
    await chain.invoke({ input: 'I am Ada.' }, config);
    await chain.invoke({ input: 'What is my name?' }, config);
    const stored = await new AgentmemChatMessageHistory({ memory, sessionId: 'conversation-1' }).getMessages();
    expect(stored.map((m) => [m.type, m.content])).toEqual([
      ['human', 'I am Ada.'],
      ['ai', 'Hello Ada.'],
      ['human', 'What is my name?'],
      ['ai', 'Your name is Ada.'],
    ]);
    // The transcript is an agentmem session like any other: the CLI and exports see it.
    const exported = (await memory.sessions.export(memory.sessions.idFor('conversation-1'), 'openai')) as { role: string }[];
    expect(exported.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
  });
});

describe.each(['pg-vector', 'pglite'] as const)('AgentmemRetriever on %s', (name) => {
  it("a LangChain retriever over a user's memories and messages, by meaning, with why each matched", async () => {
    const b = backend(name);
    const memory = await b.memory(tenant());
    await memory.memories.remember({ type: 'decision', content: 'Refund orders that arrive more than a week late', userId: 'u1' });
    await memory.memories.remember({ type: 'decision', content: 'Refund policy for other users', userId: 'u2' });
    const s = await memory.sessions.create({ userId: 'u1' });
    await memory.sessions.addMessages(s.id, [
      { role: 'user', content: 'My order is two weeks late' },
      { role: 'assistant', content: 'I can refund it for you.' },
    ]);
    await b.runtime.embeddingWorker().drain();
    const retriever = new AgentmemRetriever({ memory, scope: { userId: 'u1' }, source: 'both', k: 3, around: 1 });
    const docs = await retriever.invoke('late order refund');
    expect(docs.length).toBe(3);
    expect(docs.every((d) => d.metadata.source === 'message' || d.metadata.type === 'decision')).toBe(true);
    const decision = docs.find((d) => d.metadata.source === 'memory');
    expect(decision?.pageContent).toBe('Refund orders that arrive more than a week late');
    expect(decision?.metadata).toMatchObject({ userId: 'u1', vectorRank: expect.any(Number) });
    const turn = docs.find((d) => d.metadata.source === 'message' && d.metadata.role === 'user');
    expect(turn?.pageContent).toBe('user: My order is two weeks late\nassistant: I can refund it for you.');
    // Nobody else's memory, ever.
    expect(docs.map((d) => d.pageContent).join()).not.toContain('other users');
  });
});
