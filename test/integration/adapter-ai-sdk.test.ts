/**
 * agentmem/ai-sdk against the real `ai` package from npm (the subpath export,
 * built): generateText and streamText over a wrapped model, with the SDK's own
 * test model (no network here) answering through tool calls in several steps.
 */
import { agentmemMiddleware, agentmemTools } from 'agentmem/ai-sdk';
import { generateText, stepCountIs, streamText, wrapLanguageModel } from 'ai';
import { MockLanguageModelV3, simulateReadableStream } from 'ai/test';
import { describe, expect, it } from 'vitest';
import { useBackends } from '../harness/backends.js';

const { backend, tenant } = useBackends('ai');
const names = ['pg-vector', 'pglite'] as const;
const usage = {
  inputTokens: { total: 10, noCache: 10, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 5, text: 5, reasoning: undefined },
};
const finish = (unified: 'stop' | 'tool-calls') => ({ unified, raw: unified });

describe.each(names)('agentmem/ai-sdk on %s', (name) => {
  it('the model remembers through the tool; a later conversation gets the memory in its prompt; every turn is stored once', async () => {
    const memory = await backend(name).memory(tenant());
    const tools = agentmemTools({ memory, scope: 'user-1' });
    // Step 1 calls `remember`, step 2 answers in text.
    const first = new MockLanguageModelV3({
      doGenerate: [
        {
          content: [
            {
              type: 'tool-call',
              toolCallId: 'call-1',
              toolName: 'remember',
              input: JSON.stringify({ fact: 'The user is vegetarian and allergic to walnuts.' }),
            },
          ],
          finishReason: finish('tool-calls'),
          usage,
          warnings: [],
        },
        { content: [{ type: 'text', text: 'Noted: vegetarian, no walnuts.' }], finishReason: finish('stop'), usage, warnings: [] },
      ],
    });
    const model = wrapLanguageModel({ model: first, middleware: agentmemMiddleware({ memory, sessionId: 'chat-1', scope: 'user-1' }) });
    const result = await generateText({
      model,
      tools,
      stopWhen: stepCountIs(3),
      system: 'You are a cooking assistant.',
      prompt: 'Remember that I am vegetarian and allergic to walnuts.',
    });
    expect(result.text).toBe('Noted: vegetarian, no walnuts.');
    // Stored once each, though step 2 sent the whole history again.
    const session = memory.sessions.idFor('chat-1');
    const stored = await memory.sessions.getMessages(session);
    expect(stored.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool', 'assistant']);
    expect(stored[2]?.toolCalls).toEqual([
      { id: 'call-1', name: 'remember', arguments: { fact: 'The user is vegetarian and allergic to walnuts.' } },
    ]);
    expect(stored[3]).toMatchObject({ toolCallId: 'call-1', name: 'remember' });
    expect(stored[4]?.content).toBe('Noted: vegetarian, no walnuts.');
    // The transcript exports like any other: a valid OpenAI tool-call sequence.
    const openai = (await memory.sessions.export(session, 'openai')) as { role: string; tool_call_id?: string }[];
    expect(openai.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool', 'assistant']);

    // A typed memory of the user's (written elsewhere), which the next conversation's prompt cites by id.
    const decision = await memory.memories.remember({ type: 'decision', content: 'Cook lentil dishes for this user', userId: 'user-1' });
    // A new conversation: the relevant memory is in the prompt the model sees.
    const second = new MockLanguageModelV3({
      doStream: {
        stream: simulateReadableStream({
          chunks: [
            { type: 'text-start', id: 't' },
            { type: 'text-delta', id: 't', delta: 'Try a lentil curry ' },
            { type: 'text-delta', id: 't', delta: '(no walnuts).' },
            { type: 'text-end', id: 't' },
            { type: 'finish', finishReason: finish('stop'), usage },
          ],
        }),
      },
    });
    const streamed = streamText({
      model: wrapLanguageModel({ model: second, middleware: agentmemMiddleware({ memory, sessionId: 'chat-2', scope: 'user-1' }) }),
      prompt: 'What should I cook tonight? Something without walnuts please.',
    });
    expect(await streamed.text).toBe('Try a lentil curry (no walnuts).');
    const seen = JSON.stringify(second.doStreamCalls[0]?.prompt);
    expect(seen).toContain('allergic to walnuts');
    expect(seen).toContain(`[memory ${decision}] (decision) Cook lentil dishes for this user`);
    // And what the user said in the first conversation, found across their sessions (not this one's own turns).
    expect(seen).toContain('What this user said in earlier conversations:\\n- Remember that I am vegetarian and allergic to walnuts.');
    expect((await memory.sessions.getMessages(memory.sessions.idFor('chat-2'))).map((m) => m.content)).toEqual([
      'What should I cook tonight? Something without walnuts please.',
      'Try a lentil curry (no walnuts).',
    ]);
    // Another user's conversation gets none of it.
    const third = new MockLanguageModelV3({
      doGenerate: { content: [{ type: 'text', text: 'ok' }], finishReason: finish('stop'), usage, warnings: [] },
    });
    await generateText({
      model: wrapLanguageModel({ model: third, middleware: agentmemMiddleware({ memory, scope: 'user-2' }) }),
      prompt: 'What should I cook without walnuts?',
    });
    expect(JSON.stringify(third.doGenerateCalls[0]?.prompt)).not.toContain('allergic');
    expect(JSON.stringify(third.doGenerateCalls[0]?.prompt)).not.toContain('earlier conversations');
    // The recall tool answers from the same memories.
    const recalled = await tools.recall.execute?.({ query: 'walnuts allergy' }, { toolCallId: 'x', messages: [] });
    expect(recalled).toEqual({ facts: ['The user is vegetarian and allergic to walnuts.'] });
  });
});
