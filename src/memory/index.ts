export { type AtomImportReport, importAtoms, parseAtomsText, validateAtomEntries } from './atom-import.js';
export type { AtomFilter, StoredAtom } from './atom-rows.js';
export { type Atom, type AtomInput, type AtomIssue, atomSchema, validateAtom } from './atom-schema.js';
export { type AtomHit, AtomSearch, type AtomSearchResult, type SearchMode, type SearchOptions, type VectorMethod } from './atom-search.js';
export { Atoms } from './atoms.js';
export { StoreContext } from './context.js';
export { approximateTokens, type ContextWindowOptions, selectContextWindow } from './context-window.js';
export type { DedupeReport } from './dedupe.js';
export { createEmbedder, type Embedder, LocalHashEmbedder, OpenAIEmbedder, type OpenAIEmbedderOptions } from './embedders.js';
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
} from './formats/index.js';
export { type Change, type ChangesFilter, History } from './history.js';
export { type Item, type ItemPut, type ItemSearch, Items, type NamespaceQuery } from './items.js';
export { Memories, type Memory, type RecallFilter, type RememberInput, type RememberOutcome } from './memories.js';
export {
  type ContentPart,
  contentText,
  MESSAGE_ROLES,
  type Message,
  type MessageContent,
  type MessageInput,
  type MessageRole,
  type ToolCall,
} from './message-model.js';
export {
  type ExpiredCount,
  HOLD_CATEGORY,
  type HoldSubject,
  type LegalHold,
  Retention,
  type RetentionMode,
  type RetentionPolicies,
  type TenantExpiry,
} from './retention.js';
export {
  EXPORT_FORMATS,
  type ExportFormat,
  type Session,
  type SessionFilter,
  type SessionInput,
  Sessions,
} from './sessions.js';
export { envNameFor, type Setting, Settings } from './settings.js';
export { AgentMemory, openMemory, type StoreOptions } from './store.js';
