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
 * spelling variants, not meaning — use an embedding model for that.
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
