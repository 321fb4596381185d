import type { AgentmemConfig } from '../config/index.js';

/** What the migrator and the drift check need from a config: the schema name and the indexed embedding dimension. */
export function schemaOptions(config: AgentmemConfig): { schema: string; embeddingDim: number } {
  return { schema: config.schema, embeddingDim: config.embedder.dimensions };
}
