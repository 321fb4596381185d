/**
 * An embedder over an AI SDK embedding model, called with `embedMany` from
 * `ai`, which splits by the model's own limit and retries 429s and 5xxs with
 * backoff (honouring Retry-After). The model and `ai` are handed in by the
 * caller — `agentmem/ai-sdk` passes the user's model, the `openai` config
 * kind loads `@ai-sdk/openai-compatible` when first used — so nothing here
 * imports `ai` and `import 'agentmem'` does not need it installed.
 *
 * What comes back is checked before it reaches SQL (a vector per text, each
 * of the stated dimension, every value a finite float), and a failure is an
 * EmbedderError whose text carries no credential.
 */
import { redactCredentials } from '../config/index.js';
import { EmbedderError } from '../errors/index.js';
import { checkedVectors, type Embedder } from './embedders.js';

/** What one embedding call needs: `ai`'s `embedMany` (as far as it is called here) and the model it calls. */
export interface EmbeddingModelCall {
  embedMany: (call: {
    model: never;
    values: string[];
    maxRetries: number;
    abortSignal: AbortSignal;
  }) => PromiseLike<{ embeddings: unknown }>;
  model: unknown;
}

export interface ModelEmbedderOptions {
  /** The name stored with every vector; a changed name is a changed model. */
  model: string;
  /** The vectors' dimension: what the model returns and the vector index is built for. */
  dimensions: number;
  /** Texts per call (default: the model's own limit). */
  batchSize?: number | undefined;
  /** A call that takes longer is given up (default 30 s). */
  timeoutMs?: number | undefined;
  /** Retries after the first attempt (default 2). */
  maxRetries?: number | undefined;
}

export class ModelEmbedder implements Embedder {
  readonly model: string;
  readonly dimensions: number;
  private connection: Promise<EmbeddingModelCall> | undefined;

  constructor(
    private readonly connect: () => Promise<EmbeddingModelCall>,
    private readonly options: ModelEmbedderOptions,
  ) {
    if (!Number.isInteger(options.dimensions) || options.dimensions < 1)
      throw new EmbedderError(`dimensions must be a whole number above 0 (got ${options.dimensions})`);
    this.model = options.model;
    this.dimensions = options.dimensions;
  }

  async embed(texts: string[]): Promise<number[][]> {
    if (!texts.length) return [];
    // A missing package is the user's to fix (DependencyMissingError says what to install): not retried, not wrapped.
    this.connection ??= this.connect().catch((error: unknown) => {
      this.connection = undefined;
      throw error;
    });
    const call = await this.connection;
    const size = this.options.batchSize ?? texts.length;
    const out: number[][] = [];
    for (let start = 0; start < texts.length; start += size) {
      const batch = texts.slice(start, start + size);
      out.push(...checkedVectors(await this.embedBatch(call, batch), batch.length, this));
    }
    return out;
  }

  private async embedBatch({ embedMany, model }: EmbeddingModelCall, values: string[]): Promise<unknown> {
    const timeoutMs = this.options.timeoutMs ?? 30_000;
    const signal = AbortSignal.timeout(timeoutMs);
    // The signal asks the model to stop; the race bounds the wait even when a model does not listen.
    const expired = new Promise<never>((_resolve, reject) =>
      signal.addEventListener('abort', () => reject(new Error(`no answer within ${timeoutMs} ms`)), { once: true }),
    );
    try {
      const { embeddings } = await Promise.race([
        embedMany({ model: model as never, values, maxRetries: this.options.maxRetries ?? 2, abortSignal: signal }),
        expired,
      ]);
      return embeddings;
    } catch (error) {
      // A provider's error may echo the request, key included. Redacted before it is cut: half a key would not match.
      const reason = redactCredentials((error as Error).message).slice(0, 500);
      throw new EmbedderError(`the embedding model ${this.model} failed: ${reason}`, { model: this.model });
    }
  }
}
