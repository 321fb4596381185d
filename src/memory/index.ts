export { Atoms } from './atoms/atoms.js';
export { type AtomImportReport, importAtoms, parseAtomsText, validateAtomEntries } from './atoms/import.js';
export { streamAtomEntries } from './atoms/import-stream.js';
export { type Atom, type AtomInput, type AtomIssue, atomSchema, validateAtom } from './atoms/input.js';
export type { AtomFilter, StoredAtom } from './atoms/rows.js';
export { type AtomHit, AtomSearch, type AtomSearchResult, type SearchMode, type SearchOptions, type VectorMethod } from './atoms/search.js';
export { type Change, type ChangesFilter, History } from './change-history.js';
export {
  type BlobKey,
  blobKey,
  type CheckpointKey,
  type CheckpointListQuery,
  Checkpoints,
  type PrunedCheckpoints,
  type SerializedValue,
  type StoredBlob,
  type StoredCheckpoint,
  type StoredWrite,
} from './checkpoints/checkpoints.js';
export { StoreContext } from './context.js';
export { type AssembledContext, approximateTextTokens, type ContextOptions } from './context-assembly.js';
export type { DedupeReport } from './dedupe.js';
export { checkedVectors, describeEmbedder, type Embedder, LocalHashEmbedder } from './embedders.js';
export {
  type ExpiredCount,
  HOLD_CATEGORY,
  type HoldSubject,
  type LegalHold,
  Retention,
  type RetentionMode,
  type RetentionPolicies,
  type TenantExpiry,
} from './expiry.js';
export { type ExtractionReport, FORMATION_OFF, type MemoryFormation, type SummaryReport } from './formation-port.js';
export { type Item, type ItemPut, type ItemSearch, Items, type NamespaceQuery } from './items.js';
export {
  Memories,
  type Memory,
  type MemoryHit,
  type RecallFilter,
  type RememberInput,
  type RememberOutcome,
} from './memories/memories.js';
export { type EmbeddingModelCall, ModelEmbedder, type ModelEmbedderOptions } from './model-embedder.js';
export { createEmbedder, missingEmbedderPackages, OpenAIEmbedder, type OpenAIEmbedderOptions } from './openai-embedder.js';
export type { MemorySearchOptions, MessageSearchOptions, Scope } from './recall/recall-input.js';
export type { RecallMatch, RecallMode, RecallOutcome } from './recall/recall-search.js';
export { approximateTokens, type ContextWindowOptions, selectContextWindow } from './sessions/context-window.js';
export {
  type AnthropicTranscript,
  exportTranscript,
  fromAnthropic,
  fromLangChain,
  fromOpenAI,
  importTranscript,
  type StoredMessage,
  TRANSCRIPT_FORMATS,
  type TranscriptFormat,
  toAnthropic,
  toLangChain,
  toOpenAI,
} from './sessions/formats/index.js';
export {
  type ContentPart,
  contentText,
  MESSAGE_ROLES,
  type Message,
  type MessageContent,
  type MessageInput,
  type MessageRole,
  type ToolCall,
} from './sessions/message-model.js';
export {
  EXPORT_FORMATS,
  type ExportFormat,
  type MessageHit,
  type Session,
  type SessionFilter,
  type SessionInput,
  Sessions,
} from './sessions/sessions.js';
export { envNameFor, type Setting, Settings } from './settings.js';
export { AgentMemory, openMemory, type StoreOptions } from './store.js';
export {
  type UpdateOptions,
  WorkingMemory,
  type WorkingMemoryDocument,
  type WorkingMemoryScope,
  workingMemoryText,
} from './working/working-memory.js';
