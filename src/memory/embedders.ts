import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentmemConfig } from '../config/index.js';
import { redact, registerSecret } from '../config/index.js';
import { vectorProblem } from '../core/vectors.js';
import { EmbedderError } from '../errors/index.js';

/** Turns texts into vectors. Every stored vector records `model` and `dimensions`. */
export interface Embedder {
  readonly model: string;
  readonly dimensions: number;
  embed(texts: string[]): Promise<number[][]>;
}

function fnv1a(text: string, seed = 0x811c9dc5): number {
  let hash = seed;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * The built-in embedder: no model, no download, deterministic. It hashes word
 * unigrams, word bigrams and character trigrams into a signed feature vector
 * (the "hashing trick") and L2-normalises it. It captures lexical overlap and
 * spelling variants, not meaning — use an OpenAI-compatible endpoint for that.
 */
export class LocalHashEmbedder implements Embedder {
  readonly model: string;

  constructor(readonly dimensions = 384) {
    this.model = `agentmem-local-hash-v1`;
  }

  embed(texts: string[]): Promise<number[][]> {
    return Promise.resolve(texts.map((text) => this.embedOne(text)));
  }

  private embedOne(text: string): number[] {
    const vector = new Float64Array(this.dimensions);
    const words =
      text
        .toLowerCase()
        .normalize('NFKC')
        .match(/[\p{L}\p{N}]+/gu) ?? [];
    const add = (feature: string, weight: number) => {
      const hash = fnv1a(feature);
      const index = hash % this.dimensions;
      vector[index] = (vector[index] ?? 0) + ((hash >>> 31) & 1 ? -weight : weight);
    };
    words.forEach((word, i) => {
      add(`w:${word}`, 1);
      if (i > 0) add(`b:${words[i - 1]} ${word}`, 0.5);
      const padded = `^${word}$`;
      for (let j = 0; j + 3 <= padded.length; j++) add(`c:${padded.slice(j, j + 3)}`, 0.25);
    });
    let norm = 0;
    for (const v of vector) norm += v * v;
    norm = Math.sqrt(norm) || 1;
    return Array.from(vector, (v) => Number((v / norm).toFixed(6)));
  }
}

export interface OpenAIEmbedderOptions {
  baseUrl: string;
  model: string;
  dimensions: number;
  apiKey?: string | undefined;
  batchSize?: number;
  timeoutMs?: number;
  maxRetries?: number;
  /** Send `dimensions` in the request (models that can shorten their output). */
  requestDimensions?: boolean;
}

/** Any OpenAI-compatible `/v1/embeddings` endpoint, with batching and retries with backoff. */
export class OpenAIEmbedder implements Embedder {
  readonly model: string;
  readonly dimensions: number;
  private readonly url: string;

  constructor(private readonly options: OpenAIEmbedderOptions) {
    this.model = options.model;
    this.dimensions = options.dimensions;
    // The service may echo the key back in an error body; it must never reach our messages.
    registerSecret(options.apiKey);
    const base = options.baseUrl.replace(/\/+$/, '');
    this.url = base.endsWith('/v1') ? `${base}/embeddings` : `${base}/v1/embeddings`;
  }

  async embed(texts: string[]): Promise<number[][]> {
    const size = this.options.batchSize ?? 64;
    const out: number[][] = [];
    for (let start = 0; start < texts.length; start += size) {
      out.push(...(await this.embedBatch(texts.slice(start, start + size))));
    }
    return out;
  }

  private async embedBatch(input: string[]): Promise<number[][]> {
    const maxRetries = this.options.maxRetries ?? 4;
    for (let attempt = 0; ; attempt++) {
      let retryAfterMs: number | undefined;
      let failure: string;
      try {
        const response = await fetch(this.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {}),
          },
          body: JSON.stringify({
            model: this.model,
            input,
            ...(this.options.requestDimensions ? { dimensions: this.dimensions } : {}),
          }),
          signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
        });
        if (response.ok) return this.parse(await response.json(), input.length);
        // Redacted before it is cut: a key cut in half would no longer match.
        const body = redact(await response.text()).slice(0, 300);
        failure = `HTTP ${response.status}: ${body}`;
        const retryable = response.status === 429 || response.status >= 500;
        if (!retryable) throw new EmbedderError(`embedding request to ${this.url} failed: ${failure}`, { status: response.status });
        const header = Number(response.headers.get('retry-after'));
        if (Number.isFinite(header) && header > 0) retryAfterMs = Math.min(header * 1000, 30_000);
      } catch (error) {
        if (error instanceof EmbedderError) throw error;
        failure = redact((error as Error).message);
      }
      if (attempt >= maxRetries) {
        throw new EmbedderError(`embedding request to ${this.url} failed after ${attempt + 1} attempts: ${failure}`, {
          attempts: attempt + 1,
        });
      }
      await sleep(retryAfterMs ?? 250 * 2 ** attempt + Math.random() * 100);
    }
  }

  private parse(body: unknown, expected: number): number[][] {
    const data = (body as { data?: { index?: number; embedding?: unknown }[] })?.data;
    if (!Array.isArray(data) || data.length !== expected) {
      throw new EmbedderError(`embedding response had ${Array.isArray(data) ? data.length : 'no'} vectors; expected ${expected}`);
    }
    const sorted = [...data].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    return sorted.map((item) => {
      const vector = item.embedding;
      if (!Array.isArray(vector) || vector.some((v) => typeof v !== 'number'))
        throw new EmbedderError('embedding response holds a non-numeric vector');
      if (vector.length !== this.dimensions) {
        throw new EmbedderError(
          `model ${this.model} returned ${vector.length} dimensions; the config says ${this.dimensions} (embedder.dimensions)`,
        );
      }
      return vector as number[];
    });
  }
}

export function createEmbedder(config: AgentmemConfig['embedder']): Embedder {
  if (config.kind === 'local') return new LocalHashEmbedder(config.dimensions);
  return new OpenAIEmbedder({
    baseUrl: config.baseUrl ?? 'https://api.openai.com',
    model: config.model ?? 'text-embedding-3-small',
    dimensions: config.dimensions,
    apiKey: config.apiKey,
    batchSize: config.batchSize,
    timeoutMs: config.timeoutMs,
    maxRetries: config.maxRetries,
  });
}

/**
 * What an embedder returned for `texts` texts, checked before any of it
 * reaches SQL: a list of one vector per text, each of the embedder's
 * dimension, every value a finite 4-byte float. Every path that embeds —
 * the store, the embedding worker, re-embedding, the AI SDK embedder —
 * checks through here.
 */
export function checkedVectors(vectors: unknown, texts: number, embedder: { model: string; dimensions: number }): number[][] {
  const fail = (reason: string) => new EmbedderError(`the embedder ${embedder.model} returned ${reason}`, { model: embedder.model, texts });
  if (!Array.isArray(vectors) || vectors.length !== texts) {
    throw fail(`${Array.isArray(vectors) ? vectors.length : 'no list of'} vectors for ${texts} texts`);
  }
  for (const [i, vector] of vectors.entries()) {
    const problem = vectorProblem(vector, embedder.dimensions);
    if (problem) throw fail(`a vector at ${i} with ${problem}`);
  }
  return vectors as number[][];
}

/** What an embedder is, for a person: the built-in one matches words and spellings, a model matches meaning. */
export function describeEmbedder(embedder: Embedder): { model: string; dimensions: number; matches: 'words' | 'meaning' } {
  return { model: embedder.model, dimensions: embedder.dimensions, matches: embedder instanceof LocalHashEmbedder ? 'words' : 'meaning' };
}
