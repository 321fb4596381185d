/**
 * Any AI SDK embedding model as agentmem's embedder: OpenAI, Cohere, Voyage,
 * Mistral, Ollama, Bedrock … through the user's own provider package, called
 * with `embedMany` from `ai` (which batches by the model's limit and retries).
 * What comes back is checked before it reaches SQL (a vector per text, each
 * of the stated dimension, every value a finite float), here and again by the
 * store, and every vector records the model it came from.
 */
import { type EmbeddingModel, embedMany } from 'ai';
import { redactCredentials } from '../config/index.js';
import { EmbedderError } from '../errors/index.js';
import { checkedVectors, type Embedder } from '../memory/embedders.js';

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

export class AiSdkEmbedder implements Embedder {
  readonly model: string;
  readonly dimensions: number;

  constructor(
    private readonly embeddingModel: EmbeddingModel,
    private readonly options: AiSdkEmbedderOptions,
  ) {
    if (!Number.isInteger(options.dimensions) || options.dimensions < 1)
      throw new EmbedderError(`dimensions must be a whole number above 0 (got ${options.dimensions})`);
    const described = embeddingModel as unknown as { provider?: string; modelId?: string };
    this.model =
      options.name ??
      (typeof embeddingModel === 'string' ? embeddingModel : `${described.provider ?? 'ai-sdk'}/${described.modelId ?? 'model'}`);
    this.dimensions = options.dimensions;
  }

  async embed(texts: string[]): Promise<number[][]> {
    if (!texts.length) return [];
    let embeddings: unknown;
    const timeoutMs = this.options.timeoutMs ?? 30_000;
    const signal = AbortSignal.timeout(timeoutMs);
    // The signal asks the model to stop; the race bounds the wait even when a model does not listen.
    const expired = new Promise<never>((_resolve, reject) =>
      signal.addEventListener('abort', () => reject(new Error(`no answer within ${timeoutMs} ms`)), { once: true }),
    );
    try {
      ({ embeddings } = await Promise.race([
        embedMany({ model: this.embeddingModel, values: texts, maxRetries: this.options.maxRetries ?? 2, abortSignal: signal }),
        expired,
      ]));
    } catch (error) {
      // A provider's error may echo the request, key included: agentmem never saw that key, so it goes by its look.
      throw new EmbedderError(`the embedding model ${this.model} failed: ${redactCredentials((error as Error).message).slice(0, 500)}`, {
        model: this.model,
      });
    }
    return checkedVectors(embeddings, texts.length, this);
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
