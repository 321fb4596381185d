/**
 * The embedder a config file can name: `local` (built in) or `openai` (any
 * OpenAI-compatible embeddings endpoint: OpenAI, Azure's compatible API,
 * Together, Ollama, LM Studio, vLLM …). The second is the AI SDK's own
 * `@ai-sdk/openai-compatible` provider called through `embedMany`, loaded the
 * first time it embeds: both are optional packages, and a missing one is a
 * DependencyMissingError naming them.
 */
import type { AgentmemConfig } from '../config/index.js';
import { registerSecret } from '../config/index.js';
import { loadOptional } from '../errors/index.js';
import { type Embedder, LocalHashEmbedder } from './embedders.js';
import { ModelEmbedder } from './model-embedder.js';

/** What `embedder.kind: openai` needs installed besides agentmem. */
export const OPENAI_EMBEDDER_PACKAGES = ['ai', '@ai-sdk/openai-compatible'] as const;

export interface OpenAIEmbedderOptions {
  /** The endpoint; `/v1` is added when it does not end with it. */
  baseUrl: string;
  model: string;
  dimensions: number;
  apiKey?: string | undefined;
  /** Texts per request (default 64). */
  batchSize?: number | undefined;
  /** A request that takes longer is given up (default 30 s). */
  timeoutMs?: number | undefined;
  /** Retries of a 429 or 5xx, with backoff that honours Retry-After (default 2). */
  maxRetries?: number | undefined;
}

/** An OpenAI-compatible `/v1/embeddings` endpoint, through the AI SDK. */
export class OpenAIEmbedder extends ModelEmbedder {
  constructor(options: OpenAIEmbedderOptions) {
    // The service may echo the key back in an error body; it must never reach our messages.
    registerSecret(options.apiKey);
    const base = options.baseUrl.replace(/\/+$/, '');
    const baseURL = base.endsWith('/v1') ? base : `${base}/v1`;
    super(
      async () => {
        const [{ embedMany }, { createOpenAICompatible }] = await loadOptional('embedder.kind openai', OPENAI_EMBEDDER_PACKAGES, () =>
          Promise.all([import('ai'), import('@ai-sdk/openai-compatible')]),
        );
        const provider = createOpenAICompatible({ name: 'openai', baseURL, ...(options.apiKey ? { apiKey: options.apiKey } : {}) });
        return { embedMany, model: provider.embeddingModel(options.model) };
      },
      {
        model: options.model,
        dimensions: options.dimensions,
        batchSize: options.batchSize ?? 64,
        timeoutMs: options.timeoutMs,
        maxRetries: options.maxRetries ?? 2,
      },
    );
  }
}

/**
 * The packages the configured embedder needs that cannot be found from here
 * (none for the built-in one): what `status` and `doctor` report, before an
 * embed fails on them.
 */
export function missingEmbedderPackages(config: AgentmemConfig['embedder']): string[] {
  if (config.kind === 'local') return [];
  return OPENAI_EMBEDDER_PACKAGES.filter((name) => {
    try {
      import.meta.resolve(name);
      return false;
    } catch {
      return true;
    }
  });
}

export function createEmbedder(config: AgentmemConfig['embedder']): Embedder {
  if (config.kind === 'local') return new LocalHashEmbedder(config.dimensions);
  return new OpenAIEmbedder({
    baseUrl: config.baseUrl ?? 'https://api.openai.com/v1',
    model: config.model ?? 'text-embedding-3-small',
    dimensions: config.dimensions,
    apiKey: config.apiKey,
    batchSize: config.batchSize,
    timeoutMs: config.timeoutMs,
    maxRetries: config.maxRetries,
  });
}
