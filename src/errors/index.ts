/**
 * One error model for the whole library: every error agentmem throws on purpose
 * is an AgentmemError with a stable `code`, so callers (and the CLI's exit codes)
 * can branch on the code instead of parsing messages.
 */
import { hint } from '../core/commands.js';

/** Backups and restores: a damaged archive, a missing or wrong key, a schema the code cannot read, a store that failed. */
export const BACKUP_ERROR_CODES = [
  'BACKUP_CORRUPT',
  'BACKUP_KEY',
  'BACKUP_NOT_FOUND',
  'BACKUP_SCHEMA',
  'BACKUP_STORE',
  'RESTORE_REFUSED',
] as const;
export type BackupErrorCode = (typeof BACKUP_ERROR_CODES)[number];

/** Every code an AgentmemError can carry (docs/ops/TROUBLESHOOTING.md has a section for each). */
export const ERROR_CODES = [
  'CONFIG_INVALID',
  'USAGE',
  'VALIDATION',
  'PROVIDER_UNAVAILABLE',
  'OUTCOME_UNKNOWN',
  'NOT_DURABLE',
  'ACCESS_INCOMPLETE',
  'PROVIDER_TIMEOUT',
  'PROVIDER_NOT_FOUND',
  'DATA_DIR_LOCKED',
  'MIGRATION_CHECKSUM',
  'MIGRATION_FAILED',
  'MIGRATION_LOCK_TIMEOUT',
  'SCHEMA_NEWER',
  'SCHEMA_DRIFT',
  'NOT_FOUND',
  'CONFLICT',
  'EMBEDDER_FAILED',
  'EMBEDDING_MISMATCH',
  'FORMATION_OFF',
  'MODEL_OUTPUT_REFUSED',
  'QUERY_FAILED',
  'ALERT_CHANNEL_FAILED',
  'DEPENDENCY_MISSING',
  ...BACKUP_ERROR_CODES,
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export class AgentmemError extends Error {
  readonly code: ErrorCode;
  /** Extra structured facts (never secrets) for --json output and logs. */
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }

  toJSON(): Record<string, unknown> {
    return { error: this.code, message: this.message, ...this.details };
  }
}

/** The configuration is invalid; the message names the field. CLI exit code 2. */
export class ConfigError extends AgentmemError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('CONFIG_INVALID', message, details);
  }
}

/** The command line was used wrongly. CLI exit code 2. */
export class UsageError extends AgentmemError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

/**
 * A feature needs a package that is not installed: the server, MCP and S3
 * backups are optional so that the library installs light. CLI exit code 2.
 */
export class DependencyMissingError extends AgentmemError {
  constructor(feature: string, packages: readonly string[]) {
    super('DEPENDENCY_MISSING', `${feature} needs ${packages.join(', ')}: npm install ${packages.join(' ')}`, {
      feature,
      packages: [...packages],
    });
  }
}

/**
 * Load a module that depends on optional packages: when one of them is not
 * installed, a DependencyMissingError that says what to install (any other
 * failure is thrown as it is).
 */
export async function loadOptional<T>(feature: string, packages: readonly string[], load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    const missing = code === 'ERR_MODULE_NOT_FOUND' && packages.some((name) => message?.includes(`'${name}`));
    if (missing) throw new DependencyMissingError(feature, packages);
    throw error;
  }
}

/** Input rejected before any SQL ran. */
export class ValidationError extends AgentmemError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('VALIDATION', message, details);
  }
}

export class NotFoundError extends AgentmemError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('NOT_FOUND', message, details);
  }
}

/**
 * A provider could not be reached or dropped the connection. Only this class of
 * failure may move a call to another provider.
 */
export class ProviderUnavailableError extends AgentmemError {
  /**
   * `options.reason` is what kind of connection failure it was when known
   * (dns, refused, network, tls, auth, reset, disk-full: see classify.ts), in the details as `reason`.
   */
  constructor(provider: string, reason: string, options?: { cause?: unknown; reason?: string | undefined }) {
    super(
      'PROVIDER_UNAVAILABLE',
      `provider "${provider}" is unavailable: ${reason}`,
      { provider, ...(options?.reason ? { reason: options.reason } : {}) },
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
  }
}

/** A provider did not answer within the configured timeout (a hung or paused server). */
export class ProviderTimeoutError extends AgentmemError {
  constructor(provider: string, timeoutMs: number, what: string, options?: { cause?: unknown }) {
    super('PROVIDER_TIMEOUT', `provider "${provider}" did not answer ${what} within ${timeoutMs} ms`, { provider, timeoutMs }, options);
  }
}

/**
 * A write may or may not have committed: the connection died (or the provider
 * stopped answering) while the statement or its COMMIT was in flight, and no
 * other provider could settle it. Retrying with the same ids is safe: every
 * write is idempotent, and copies of one id converge to exactly one row. The
 * ids the library generated for the write are in `details`.
 */
export class OutcomeUnknownError extends AgentmemError {
  constructor(providers: string[], reason: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(
      'OUTCOME_UNKNOWN',
      `the write may have committed on ${providers.join(', ')} (${reason}); retry it with the same id to be sure`,
      { providers, ...details },
      options,
    );
  }
}

/**
 * With `replication.ack: "sync"`, the write committed on one provider but no
 * second provider could be made to hold it (and what it depends on) in time.
 * It is not lost while `committedOn` survives, and replication will copy it,
 * but it is not yet safe against losing that provider. Retrying with the same
 * ids is safe.
 */
export class NotDurableError extends AgentmemError {
  constructor(committedOn: string, reason: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(
      'NOT_DURABLE',
      `the write committed on ${committedOn} only and is not yet safe against losing it: ${reason}; retry it with the same id`,
      { committedOn, ...details },
      options,
    );
  }
}

/**
 * Replication, verification or health counting connected as a role that cannot
 * see every tenant's rows (row-level security applies to it). Running anyway
 * would copy nothing, call empty tables equal, and move watermarks past rows it
 * never saw.
 */
export class AccessIncompleteError extends AgentmemError {
  constructor(provider: string, role: string, details: Record<string, unknown> = {}) {
    super(
      'ACCESS_INCOMPLETE',
      `provider "${provider}": role "${role}" is subject to row-level security and cannot see every tenant; give the provider a \`directUrl\` for a role that owns the tables or has BYPASSRLS (see docs/ops/RUNBOOK.md#roles)`,
      { provider, role, ...details },
    );
  }
}

/** The breaker opened while a call waited: the caller moves on, and the call may still complete. */
export class AbandonedCallError extends ProviderUnavailableError {
  readonly abandoned = true;
  constructor(provider: string) {
    super(provider, 'circuit breaker opened while the call waited');
  }
}

/** The agentmem schema is missing or incomplete on a provider. */
export class SchemaMissingError extends AgentmemError {
  constructor(schema: string) {
    super('SCHEMA_DRIFT', `the agentmem schema "${schema}" is missing or incomplete on this provider; run ${hint('migrateUp')}`, {
      schema,
    });
  }
}

/** An alert channel (Telegram, a webhook, Alertmanager) refused or failed a notification. */
export class ChannelError extends AgentmemError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ALERT_CHANNEL_FAILED', message, {}, options);
  }
}

export class ProviderNotFoundError extends AgentmemError {
  constructor(name: string, known: string[]) {
    super('PROVIDER_NOT_FOUND', `no provider named "${name}" (configured: ${known.join(', ') || 'none'})`, { provider: name, known });
  }
}

/** The embedded data directory is held by another process. */
export class DataDirLockedError extends AgentmemError {
  /** `server`: the `agentmem serve` holding it, from the file it leaves beside the data directory (serveFileFor). */
  constructor(dataDir: string, server?: { url: string; pid: number }) {
    super(
      'DATA_DIR_LOCKED',
      server
        ? `the embedded database at ${dataDir} is held by agentmem serve at ${server.url} (pid ${server.pid}); act through it with --server ${server.url} and an API key in AGENTMEM_API_KEY, or stop it first`
        : `the embedded database at ${dataDir} is in use by another agentmem process; stop it first (PGlite cannot share a data directory safely)`,
      { dataDir, ...(server ? { server: server.url } : {}) },
    );
  }
}

/** Where `agentmem serve` says, while it runs, that it holds an embedded data directory. */
export const serveFileFor = (dataDir: string) => `${dataDir}.serve.json`;

/** An SQL error the server reported (constraint, syntax, permission): never a reason to fail over. */
export class QueryError extends AgentmemError {
  readonly sqlState: string | undefined;
  constructor(provider: string, message: string, sqlState: string | undefined, options?: { cause?: unknown }) {
    super('QUERY_FAILED', `provider "${provider}": ${message}`, { provider, sqlState }, options);
    this.sqlState = sqlState;
  }
}

export class MigrationError extends AgentmemError {}

/** The embedding service failed after its retries, or answered something unusable. */
export class EmbedderError extends AgentmemError {
  constructor(message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super('EMBEDDER_FAILED', message, details, options);
  }
}

/** Stored embeddings came from another model or dimension than the configured embedder. */
export class EmbeddingMismatchError extends AgentmemError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('EMBEDDING_MISMATCH', message, details);
  }
}

/** Memory formation (extraction, summaries) was asked for, and no language model is configured. */
export class FormationOffError extends AgentmemError {
  constructor(message: string) {
    super('FORMATION_OFF', message);
  }
}

/**
 * The language model's output was refused: not valid JSON, not of the schema,
 * or asking for what it may not (a memory outside the session's user, an
 * operation other than ADD, SUPERSEDE or NOOP). Nothing was written; the
 * session is tried again after a backoff.
 */
export class ModelOutputRefusedError extends AgentmemError {
  constructor(message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super('MODEL_OUTPUT_REFUSED', message, details, options);
  }
}

/**
 * A backup or restore failed for a reason of its own (the code says which).
 * Nothing partial is left: an archive is listed only once complete, and a
 * restore that fails leaves its target as it was.
 */
export class BackupError extends AgentmemError {
  constructor(code: BackupErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(code, message, details, options);
  }
}

/** The record exists in a state that forbids the call (a deleted session's id, created again). */
export class ConflictError extends AgentmemError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('CONFLICT', message, details);
  }
}
