/**
 * Transcripts as agents write them (issue 17): tool calls and results, names,
 * external ids, multimodal content, format fields; the context window never
 * splits a tool call from its results; clearing and restoring; exports to
 * OpenAI, Anthropic and LangChain that an import brings back exactly — checked
 * against LangChain's own reader from npm.
 */
import { randomUUID } from 'node:crypto';
import { mapStoredMessagesToChatMessages } from '@langchain/core/messages';
import { describe, expect, it } from 'vitest';
import { ConflictError, type Message, type MessageInput, ValidationError } from '../../src/index.js';
import { useBackends } from '../harness/backends.js';

const { backend, tenant } = useBackends();
const names = ['pg-vector', 'pglite'] as const;

/** A tool-heavy turn: the user asks, the assistant calls tools, each answers, the assistant replies. */
function toolTurn(i: number, calls = 2): MessageInput[] {
  const ids = Array.from({ length: calls }, (_, c) => `call_${i}_${c}`);
  return [
    { role: 'user', name: 'alice', content: `question ${i}`, externalId: `u-${i}` },
    {
      role: 'assistant',
      content: '',
      toolCalls: ids.map((id, c) => ({ id, name: c % 2 ? 'search' : 'lookup', arguments: { q: `q${i}`, n: c } })),
      externalId: `a-${i}`,
    },
    ...ids.map((id, c): MessageInput => ({ role: 'tool', toolCallId: id, name: c % 2 ? 'search' : 'lookup', content: `result ${i}.${c}` })),
    { role: 'assistant', content: `answer ${i} ${'x'.repeat(20 * (i % 5))}` },
  ];
}

/** What a chat API demands of a window: every tool result's call is in it, and every call in it has all its results. */
function checkWindow(window: Message[], all: Message[]): void {
  const calls = new Map<string, Message>();
  for (const m of window) for (const call of m.toolCalls ?? []) calls.set(call.id, m);
  for (const m of window)
    if (m.role === 'tool') expect(calls.has(m.toolCallId as string), `result ${m.toolCallId} without its call`).toBe(true);
  const results = new Set(window.filter((m) => m.role === 'tool').map((m) => m.toolCallId));
  const answered = new Set(all.filter((m) => m.role === 'tool').map((m) => m.toolCallId));
  for (const id of calls.keys()) if (answered.has(id)) expect(results.has(id), `call ${id} without its result`).toBe(true);
}

describe.each(names)('transcripts on %s', (name) => {
  it('stores every field a modern transcript carries and returns it exactly', async () => {
    const m = await backend(name).memory(tenant());
    const session = await m.sessions.create({ externalId: 'thread-42', title: 'tools' });
    expect(session.externalId).toBe('thread-42');
    expect(session.id).toBe(m.sessions.idFor('thread-42'));
    const input: MessageInput[] = [
      { role: 'developer', content: 'Answer in French.' },
      {
        role: 'user',
        name: 'bob',
        externalId: 'lc-msg-1',
        content: [
          { type: 'text', text: "qu'y a-t-il ici ?" },
          { type: 'image_url', image_url: { url: 'https://example.com/a.png', detail: 'low' } },
        ],
        metadata: { channel: 'web' },
        extra: { langchain: { additional_kwargs: { k: 1 }, response_metadata: {} } },
      },
      ...toolTurn(1, 3),
    ];
    const added = [];
    for (const message of input) added.push(await m.sessions.addMessage(session.id, message));
    const loaded = (await m.sessions.load(session.id))?.messages ?? [];
    expect(loaded).toEqual(added);
    for (const [i, message] of input.entries()) {
      const got = loaded[i] as Message;
      for (const field of ['role', 'content', 'name', 'toolCalls', 'toolCallId', 'externalId', 'extra'] as const)
        expect(got[field], `${i}.${field}`).toEqual(message[field]);
      expect(got.metadata).toEqual(message.metadata ?? {});
    }
    // The external id is the message's identity: sending it again is the same message, on any call path.
    const again = await m.sessions.addMessage(session.id, { role: 'user', content: 'changed?', externalId: 'lc-msg-1' });
    expect(again.id).toBe(loaded[1]?.id);
    expect(again.content).toEqual(input[1]?.content);
    expect(await m.sessions.addMessages(session.id, [{ role: 'user', content: 'x', externalId: 'u-1' }])).toEqual({
      inserted: 0,
      existing: 1,
    });
    // Roles and fields that contradict each other are refused before any SQL.
    await expect(m.sessions.addMessage(session.id, { role: 'tool', content: 'no call id' })).rejects.toBeInstanceOf(ValidationError);
    await expect(
      m.sessions.addMessage(session.id, { role: 'user', content: 'x', toolCalls: [{ id: 'c', name: 'n', arguments: {} }] }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(
      m.sessions.addMessage(session.id, { role: 'user', content: 'x', id: randomUUID(), externalId: 'other' }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(
      m.sessions.addMessage(session.id, { role: 'user', content: [{ type: 'text', text: 'nul \u0000' }] }),
    ).rejects.toBeInstanceOf(ValidationError);
  });

  it('a context window keeps the system prompt and never splits a tool call from its results', async () => {
    const m = await backend(name).memory(tenant());
    const s = await m.sessions.create({});
    const messages: MessageInput[] = [{ role: 'system', content: 'You are a tool-using agent.' }];
    for (let i = 0; i < 40; i++) messages.push(...toolTurn(i, 1 + (i % 4)));
    // A result whose call is not in the transcript (a truncated import) is never sent alone.
    messages.push({ role: 'tool', toolCallId: 'call_lost', content: 'orphan' });
    messages.push({ role: 'user', content: 'and now?' });
    await m.sessions.addMessages(s.id, messages);
    const all = await m.sessions.getMessages(s.id);
    expect(all).toHaveLength(messages.length);
    let previous = -1;
    for (let budget = 20; budget <= 6000; budget += 37) {
      const window = await m.sessions.contextWindow(s.id, budget);
      expect(window[0]?.role).toBe('system');
      expect(window.some((x) => x.toolCallId === 'call_lost')).toBe(false);
      checkWindow(window, all);
      // Seqs ascend (original order), and a bigger budget never keeps fewer messages.
      expect(window.map((x) => x.seq)).toEqual([...window.map((x) => x.seq)].sort((a, b) => a - b));
      expect(window.length).toBeGreaterThanOrEqual(previous);
      previous = window.length;
    }
    expect(previous).toBe(all.length - 1);
  });

  it('clears a session’s messages and keeps the session; a deleted id is refused until restored', async () => {
    const m = await backend(name).memory(tenant());
    const s = await m.sessions.create({ externalId: 'to-clear' });
    await m.sessions.addMessages(s.id, toolTurn(1));
    expect(await m.sessions.clearMessages(s.id)).toBe(5);
    expect(await m.sessions.getMessages(s.id)).toEqual([]);
    expect((await m.sessions.get(s.id))?.externalId).toBe('to-clear');
    // The same messages sent again (a framework rewriting its history) come back, in the new order.
    expect(await m.sessions.addMessages(s.id, toolTurn(1))).toEqual({ inserted: 5, existing: 0 });
    const back = await m.sessions.addMessage(s.id, { role: 'user', content: 'again', externalId: 'u-1' });
    expect(back.content).toBe('question 1');
    expect((await m.sessions.getMessages(s.id)).map((x) => x.externalId ?? x.role)).toEqual(['u-1', 'a-1', 'tool', 'tool', 'assistant']);

    expect(await m.sessions.delete(s.id)).toBe(true);
    await expect(m.sessions.create({ id: s.id })).rejects.toBeInstanceOf(ConflictError);
    await expect(m.sessions.create({ externalId: 'to-clear' })).rejects.toThrow(/was deleted; restore it/);
    const restored = await m.sessions.restore(s.id);
    expect(restored.id).toBe(s.id);
    expect(await m.sessions.getMessages(s.id)).toEqual([]);
    expect((await m.sessions.create({ externalId: 'to-clear' })).id).toBe(s.id);
  });

  it('exports to OpenAI, Anthropic and LangChain, and an import of each brings the transcript back exactly', async () => {
    const m = await backend(name).memory(tenant());
    const openai = [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'weather in Paris and Rome?', name: 'carol' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_a', type: 'function', function: { name: 'weather', arguments: '{"city": "Paris"}' } },
          { id: 'call_b', type: 'function', function: { name: 'weather', arguments: '{"city":"Rome"}' } },
        ],
        refusal: null,
      },
      { role: 'tool', tool_call_id: 'call_a', content: '18C' },
      { role: 'tool', tool_call_id: 'call_b', content: [{ type: 'text', text: '24C' }] },
      { role: 'assistant', content: 'Paris 18C, Rome 24C.', annotations: [] },
    ];
    const fromOpenAI = await m.sessions.importTranscript('openai', openai, { externalId: 'oa' });
    expect(fromOpenAI.inserted).toBe(6);
    expect(await m.sessions.export(fromOpenAI.session.id, 'openai')).toEqual(openai);
    // Idempotent: the same transcript again adds nothing.
    expect((await m.sessions.importTranscript('openai', openai, { externalId: 'oa' })).inserted).toBe(0);

    const anthropic = {
      system: 'be brief',
      messages: [
        { role: 'user', content: 'weather in Paris?' },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Checking.' },
            { type: 'tool_use', id: 'toolu_1', name: 'weather', input: { city: 'Paris' } },
          ],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '18C', is_error: false }] },
        { role: 'assistant', content: 'It is 18C.' },
      ],
    };
    const fromAnthropic = await m.sessions.importTranscript('anthropic', anthropic);
    expect(await m.sessions.export(fromAnthropic.session.id, 'anthropic')).toEqual(anthropic);
    const asMessages = await m.sessions.getMessages(fromAnthropic.session.id);
    expect(asMessages.map((x) => x.role)).toEqual(['system', 'user', 'assistant', 'tool', 'assistant']);
    expect(asMessages[2]?.toolCalls).toEqual([{ id: 'toolu_1', name: 'weather', arguments: { city: 'Paris' } }]);
    // The same transcript crosses formats: the Anthropic tool call as OpenAI's.
    const crossed = (await m.sessions.export(fromAnthropic.session.id, 'openai')) as Record<string, unknown>[];
    expect(crossed[2]).toMatchObject({ tool_calls: [{ id: 'toolu_1', function: { name: 'weather', arguments: '{"city":"Paris"}' } }] });
    expect(crossed[3]).toEqual({ role: 'tool', tool_call_id: 'toolu_1', content: '18C' });

    // LangChain: what its own reader accepts, and back.
    const exported = (await m.sessions.export(fromOpenAI.session.id, 'langchain')) as { type: string; data: Record<string, unknown> }[];
    // (LangChain's constructors add fields to the objects they are given: hand them a copy.)
    const chat = mapStoredMessagesToChatMessages(structuredClone(exported) as never);
    expect(chat.map((x) => x.type)).toEqual(['system', 'human', 'ai', 'tool', 'tool', 'ai']);
    expect((chat[2] as unknown as { tool_calls: unknown }).tool_calls).toEqual([
      { id: 'call_a', name: 'weather', args: { city: 'Paris' }, type: 'tool_call' },
      { id: 'call_b', name: 'weather', args: { city: 'Rome' }, type: 'tool_call' },
    ]);
    expect((chat[3] as unknown as { tool_call_id: string }).tool_call_id).toBe('call_a');
    // Into another tenant (the message ids are the tenant's): the same messages, the same ids.
    const m2 = await backend(name).memory(tenant());
    const reimported = await m2.sessions.importTranscript('langchain', exported, { externalId: 'lc' });
    expect(reimported.inserted).toBe(6);
    expect(await m2.sessions.export(reimported.session.id, 'langchain')).toEqual(exported);
    // agentmem's own export comes back as the same session.
    const own = await m.sessions.export(fromOpenAI.session.id, 'agentmem');
    const m3 = await backend(name).memory(tenant());
    const copied = await m3.sessions.importTranscript('agentmem', own);
    expect(await m3.sessions.load(copied.session.id)).toEqual(own);
  });
});
