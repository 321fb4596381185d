/**
 * Any AI SDK embedding model as agentmem's embedder, driven by the SDK's own
 * MockEmbeddingModelV3 (no network here) with scripted vectors: vector search
 * finds by those vectors (not by shared words), every vector records the
 * model, and hostile or failing models are refused before anything is stored.
 */
import { MockEmbeddingModelV3 } from 'ai/test';
import { describe, expect, it } from 'vitest';
import { aiSdkEmbedder } from '../../src/adapters/ai-sdk.js';
import { AgentMemory, type Embedder, EmbedderError } from '../../src/index.js';
import { useBackends } from '../harness/backends.js';

const { backend, tenant } = useBackends('emb');
const DIM = 384;

/** A unit vector near axis `topic`: texts about one topic are each other's nearest, whatever their words. */
function topicVector(topic: number, jitter: number): number[] {
  const v = Array.from({ length: DIM }, (_, i) => (i === topic ? 1 : i === (topic + 1 + jitter) % DIM ? 0.2 : 0));
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}
const TOPICS: [RegExp, number][] = [
  [/feline|cat|kitten/i, 3],
  [/invoice|billing|refund/i, 40],
  [/weather|rain|forecast/i, 77],
];
const scripted = (values: string[]) =>
  values.map((text, i) => topicVector(TOPICS.find(([pattern]) => pattern.test(text))?.[1] ?? 200, i % 5));

function mockModel(doEmbed: (values: string[]) => Promise<number[][]> | number[][]) {
  return new MockEmbeddingModelV3({
    provider: 'mock',
    modelId: 'topics-1',
    maxEmbeddingsPerCall: 8,
    doEmbed: (async ({ values }: { values: string[] }) => ({ embeddings: await doEmbed(values), warnings: [] })) as never,
  });
}

const withEmbedder = (m: AgentMemory, embedder: Embedder) => new AgentMemory(m.storeContext.with({ embedder }), m.config, undefined);

describe.each(['pg-vector', 'pglite'] as const)('aiSdkEmbedder on %s', (name) => {
  it('embeds through embedMany (batched by the model), and vector search finds by meaning, not words', async () => {
    const model = mockModel(scripted);
    const m = withEmbedder(await backend(name).memory(tenant()), aiSdkEmbedder(model, { dimensions: DIM }));
    expect(m.storeContext.embedder.model).toBe('mock/topics-1');
    const atoms = [
      { atomId: 'kb:pets', atomType: 'concept', title: 'Caring for a kitten', content: 'Feed small meals four times a day.' },
      { atomId: 'kb:money', atomType: 'concept', title: 'Billing disputes', content: 'Refunds take five working days.' },
      { atomId: 'kb:sky', atomType: 'concept', title: 'Forecasts', content: 'Rain is likely in spring.' },
    ];
    for (let i = 0; i < 4; i++) atoms.push({ atomId: `kb:other-${i}`, atomType: 'concept', title: `Other ${i}`, content: 'Unrelated.' });
    await m.atoms.upsert(atoms as never);
    // Seven atoms and a query: embedMany split them by the model's limit of 8 per call.
    const result = await m.atoms.search('feline', { mode: 'vector', limit: 1 });
    expect(result.results.map((hit) => hit.atom.atomId)).toEqual(['kb:pets']);
    expect(model.doEmbedCalls.length).toBeGreaterThanOrEqual(2);
    expect(await m.atoms.get('kb:pets')).toMatchObject({ embeddingModel: 'mock/topics-1', embeddingDim: DIM });
  });

  it('refuses what a hostile or failing model returns, storing nothing, and never repeats a secret it echoed', async () => {
    const m = await backend(name).memory(tenant());
    const atom = { atomId: 'kb:refused', atomType: 'concept', title: 'Refused', content: 'Never stored.' };
    const cases: [string, Embedder, RegExp][] = [
      [
        'NaN',
        aiSdkEmbedder(
          mockModel((values) => values.map(() => Array(DIM).fill(Number.NaN))),
          { dimensions: DIM },
        ),
        /finite/,
      ],
      [
        'too few',
        aiSdkEmbedder(
          mockModel((values) => scripted(values).slice(1)),
          { dimensions: DIM },
        ),
        /vectors for/,
      ],
      [
        'wrong dimension',
        aiSdkEmbedder(
          mockModel((values) => values.map(() => [1, 0, 0])),
          { dimensions: DIM },
        ),
        /dimension/,
      ],
      [
        'throws',
        aiSdkEmbedder(
          mockModel(() => {
            throw new Error('401 for key sk-live-Secret123456789abcdef');
          }),
          { dimensions: DIM, maxRetries: 0 },
        ),
        /failed/,
      ],
      [
        'too slow',
        aiSdkEmbedder(
          mockModel(() => new Promise((resolve) => setTimeout(() => resolve([]), 5_000))),
          {
            dimensions: DIM,
            timeoutMs: 200,
            maxRetries: 0,
          },
        ),
        /failed/,
      ],
    ];
    for (const [label, embedder, message] of cases) {
      const error = await withEmbedder(m, embedder)
        .atoms.upsert([atom] as never)
        .catch((e: unknown) => e);
      expect(error, label).toBeInstanceOf(EmbedderError);
      expect((error as Error).message, label).toMatch(message);
      expect(JSON.stringify({ message: (error as Error).message, details: (error as EmbedderError).details }), label).not.toContain(
        'Secret123456789',
      );
    }
    expect(await m.atoms.get('kb:refused')).toBeNull();
  });
});
