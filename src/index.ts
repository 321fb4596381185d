/**
 * agentmem — the memory API. A chosen, small surface: open a store, use its
 * sessions, memories, knowledge atoms and settings, catch its errors, and
 * serve its metrics. Operations (health, verify, monitor, replication,
 * migrations, providers) are in `agentmem/ops`.
 *
 * @example
 * import { createMemory } from 'agentmem';
 * const memory = await createMemory({ tenant: 'acme' });
 * const session = await memory.sessions.create({ agentId: 'support-bot' });
 * await memory.sessions.addMessage(session.id, { role: 'user', content: 'My order is late' });
 * await memory.close();
 */

export { type AgentmemConfig, CONFIG_DEFAULTS, type LoadConfigOptions, loadConfig } from './config/index.js';
export {
  AccessIncompleteError,
  AgentmemError,
  BackupError,
  ChannelError,
  ConfigError,
  ConflictError,
  DataDirLockedError,
  DependencyMissingError,
  EmbedderError,
  EmbeddingMismatchError,
  ERROR_CODES,
  type ErrorCode,
  FormationOffError,
  MigrationError,
  ModelOutputRefusedError,
  NotDurableError,
  NotFoundError,
  OutcomeUnknownError,
  ProviderNotFoundError,
  ProviderTimeoutError,
  ProviderUnavailableError,
  QueryError,
  SchemaMissingError,
  UsageError,
  ValidationError,
} from './errors/index.js';
export {
  AgentMemory,
  type AssembledContext,
  type Atom,
  type AtomFilter,
  type AtomImportReport,
  type AtomInput,
  type AtomSearchResult,
  type Change,
  type ContentPart,
  type ContextOptions,
  type ContextWindowOptions,
  createEmbedder,
  type Embedder,
  EXPORT_FORMATS,
  type ExportFormat,
  type ExtractionReport,
  type HoldSubject,
  type Item,
  type ItemPut,
  type ItemSearch,
  type LegalHold,
  MESSAGE_ROLES,
  type Memory,
  type MemoryHit,
  type MemorySearchOptions,
  type Message,
  type MessageContent,
  type MessageHit,
  type MessageInput,
  type MessageRole,
  type MessageSearchOptions,
  type RecallFilter,
  type RecallMatch,
  type RecallMode,
  type RecallOutcome,
  type RememberInput,
  type RememberOutcome,
  type Scope,
  type SearchOptions,
  type Session,
  type SessionFilter,
  type SessionInput,
  type Setting,
  type SummaryReport,
  type ToolCall,
  type VectorMethod,
  validateAtom,
  type WorkingMemoryDocument,
  type WorkingMemoryScope,
} from './memory/index.js';
/** agentmem's Prometheus registry, for an application that serves its own /metrics. */
export { registry as metricsRegistry } from './observability/metrics.js';
export { startMetricsServer } from './ops/metrics-server.js';
export { type CreateMemoryOptions, type CreateMemoryOptions as MemoryOptions, createMemory } from './runtime/index.js';
