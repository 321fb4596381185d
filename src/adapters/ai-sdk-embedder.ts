/**
 * Any AI SDK embedding model as agentmem's embedder: OpenAI, Cohere, Voyage,
 * Mistral, Ollama, Bedrock … through the user's own provider package, called
 * with `embedMany` from `ai` (which batches by the model's limit and retries).
 * What comes back is checked before it reaches SQL (a vector per text, each
 * of the stated dimension, every value a finite float), here and again by the
 * store, and every vector records the model it came from.
 */
import { type EmbeddingModel, embedMany } from 'ai';
import { type Embedder, type EmbeddingModelCall, ModelEmbedder } from '../memory/index.js';

export interface AiSdkEmbedderOptions {
  /** The vectors' dimension: what the model returns (and the vector index is built for: `embedder.dimensions`). */
  dimensions: number;
  /** The name stored with every vector (default `provider/modelId`); a changed name is a changed model. */
  name?: string;
  /** A call that takes longer is given up (default 30 s). */
  timeoutMs?: number;
  /** Retries after the first attempt, by the AI SDK (default 2). */
  maxRetries?: number;
}

export class AiSdkEmbedder extends ModelEmbedder {
  constructor(embeddingModel: EmbeddingModel, options: AiSdkEmbedderOptions) {
    const described = embeddingModel as unknown as { provider?: string; modelId?: string };
    const call: EmbeddingModelCall = { embedMany, model: embeddingModel };
    super(() => Promise.resolve(call), {
      model:
        options.name ??
        (typeof embeddingModel === 'string' ? embeddingModel : `${described.provider ?? 'ai-sdk'}/${described.modelId ?? 'model'}`),
      dimensions: options.dimensions,
      timeoutMs: options.timeoutMs,
      maxRetries: options.maxRetries,
    });
  }
}

/**
 * An agentmem embedder over an AI SDK embedding model.
 *
 * @example
 * import { openai } from '@ai-sdk/openai';
 * const memory = await createMemory({ embedder: aiSdkEmbedder(openai.embedding('text-embedding-3-small'), { dimensions: 1536 }) });
 */
export function aiSdkEmbedder(model: EmbeddingModel, options: AiSdkEmbedderOptions): Embedder {
  return new AiSdkEmbedder(model, options);
}
