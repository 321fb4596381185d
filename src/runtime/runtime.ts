/**
 * The composition root: from a config to everything that runs — providers
 * (or a caller's own pg.Pool), the router with its hooks into the schema
 * layer (drift) and the replication layer (catch-up, read-your-writes, sync
 * acknowledgement), the replicator, the migrator, background workers, and the
 * memory API over them. The library (`createMemory`), the CLI, ops, the
 * server and the tests all build through here; the layers below know nothing
 * of each other, and this module is where they meet.
 */
import type { LanguageModel } from 'ai';
import type pg from 'pg';
import { type AgentmemConfig, type LoadConfigOptions, loadConfig } from '../config/index.js';
import { EmbeddingWorker } from '../formation/embedding-worker.js';
import { type FormationOptions, FormationWorker, ModelFormation } from '../formation/formation.js';
import { type ReembedOptions, type ReembedReport, reembedMemories } from '../formation/reembed.js';
import { type AgentMemory, createEmbedder, type Embedder, openMemory } from '../memory/index.js';
import { type Executor, PrimaryExecutor, type Provider, ProviderSet, Router, type RouterHooks, routerOptions } from '../providers/index.js';
import { ReplicationLoop, Replicator, SyncAcknowledger } from '../replication/index.js';
import { diffSchema, embeddedSnapshot, Migrator, type MigratorOptions, schemaOptions } from '../schema/index.js';
import { MigratingExecutor, PrimaryMigration } from './migration.js';

export interface RuntimeOptions {
  /** A loaded config, or options for loading one (default: the working directory and environment). */
  config?: AgentmemConfig | LoadConfigOptions;
  /**
   * Run on this pg.Pool instead of the configured providers — the pool an
   * application (or LangGraph's, Mastra's Postgres package) already has. It
   * stays the caller's: agentmem neither ends it nor changes its settings.
   */
  pool?: pg.Pool;
}

/** A background loop the runtime starts with its router and stops on close (replication; embedding and extraction workers). */
export interface Worker {
  start(): unknown;
  stop(): Promise<void>;
}

export interface MemoryOptions {
  /** Tenant for every call (default: config.tenant). */
  tenant?: string;
  /** Who writes (an agent, a user, a job): recorded with every change in the change history. */
  actor?: string;
  /** Where work runs (default: the router over configured providers, else the primary). */
  executor?: Executor;
  embedder?: Embedder;
  /** Apply pending migrations to the primary before the first call (default: true for the embedded default and a caller's pool). */
  migrate?: boolean;
  /** Route between the configured providers (health, breakers, failover; default true); false: every call to the primary. */
  route?: boolean;
  /**
   * The language model memory formation writes with (extraction, summaries): any AI SDK model from
   * your provider package. Without one, formation is off and nothing calls a model.
   */
  model?: LanguageModel;
  /** Prompts of your own in place of the shipped ones (each with the version its memories record). */
  formation?: FormationOptions;
}

export class Runtime {
  private opening: Promise<Router> | undefined;
  private replicatorOf: Replicator | undefined;
  private readonly workers: Worker[] = [];
  private readonly migration: PrimaryMigration;
  private embeddings: EmbeddingWorker | undefined;
  private embeddingsStarted = false;
  private formationStarted = false;
  private embedder: Embedder | undefined;
  private closed = false;

  private constructor(
    readonly config: AgentmemConfig,
    readonly providers: ProviderSet,
    /** close() closes the providers; false when the caller handed them in and closes them itself. */
    private readonly ownsProviders: boolean,
  ) {
    this.migration = new PrimaryMigration(
      () => providers.primary(),
      (provider) => this.migrator(provider),
    );
  }

  /** Load the config (unless given) and build, connecting nothing yet. */
  static async open(options: RuntimeOptions = {}): Promise<Runtime> {
    const config =
      options.config && 'providers' in options.config ? options.config : await loadConfig(options.config as LoadConfigOptions | undefined);
    if (options.pool) return new Runtime(config, ProviderSet.fromPool(config, options.pool), true);
    return Runtime.fromConfig(config);
  }

  /** Over a loaded config, building its providers (a new embedded directory starts from the packaged schema). */
  static fromConfig(config: AgentmemConfig): Runtime {
    return new Runtime(config, ProviderSet.fromConfig(config, { embeddedSeed: embeddedSnapshot(schemaOptions(config)) }), true);
  }

  /** Over providers the caller opened and will close (an ops function handed a ProviderSet). */
  static over(config: AgentmemConfig, providers: ProviderSet): Runtime {
    return new Runtime(config, providers, false);
  }

  /** Configured providers are routed; the embedded default and a caller's pool are one database. */
  get routed(): boolean {
    return this.config.providers.length > 0 && !this.providers.fromCallersPool;
  }

  /** The migrator of one provider, with this config's schema and embedding dimension. */
  migrator(provider: Provider, options: Omit<MigratorOptions, 'schema' | 'embeddingDim'> = {}): Migrator {
    return new Migrator(provider, { ...schemaOptions(this.config), ...options });
  }

  /** The one replicator of this runtime (its coverage is what read-your-writes and sync acknowledgement ask). */
  get replicator(): Replicator {
    this.replicatorOf ??= new Replicator({ schema: this.config.schema, batchSize: this.config.replication.batchSize });
    return this.replicatorOf;
  }

  /** Every provider of the set, opened. */
  async allProviders(): Promise<Provider[]> {
    const opened: Provider[] = [];
    for (const name of this.providers.names) opened.push(await this.providers.get(name));
    return opened;
  }

  /**
   * The router over the configured providers, opened and started once, with
   * replication (when there is more than one provider) wired into its hooks
   * and started as a worker. With `migrate`, the primary's migration runs as
   * the router starts, and the router's first look at the schema waits for it
   * (the look before it would only report the migrations it is applying).
   */
  router(options: { migrate?: boolean } = {}): Promise<Router> {
    this.opening ??= this.openRouter(options.migrate ?? false);
    return this.opening;
  }

  private async openRouter(migrate: boolean): Promise<Router> {
    const config = this.config;
    const hooks: RouterHooks = {
      driftCheck: async (provider) => {
        const report = await diffSchema(provider, schemaOptions(config));
        const blocking = report.items.filter((i) => i.severity === 'blocking');
        return { blocking: blocking.length > 0, summary: blocking.map((i) => `${i.kind} ${i.object} ${i.change}`).join(', ') };
      },
      ...(migrate ? { beforeFirstDriftCheck: () => this.migration.run() } : {}),
    };
    let loop: ReplicationLoop | undefined;
    // The loop asks the router which providers are up; the router asks the loop to catch a provider up.
    let router: Router | undefined;
    if (config.providers.length > 1) {
      const replicator = this.replicator;
      // Read-your-writes: a provider holds the caller's last write once every table's link from where it was written covers it.
      hooks.replicatedTo = (provider, token) => provider === token.provider || replicator.covered(token.provider, provider) > token.at;
      if (config.replication.ack === 'sync') {
        const acknowledger = new SyncAcknowledger(replicator);
        hooks.confirmDurable = (source, target, at) => acknowledger.confirm(source, target, at);
      }
      if (config.replication.enabled) {
        const replication = new ReplicationLoop(() => router?.availableProviders() ?? [], replicator, config.replication.intervalMs);
        hooks.catchUp = (name) => replication.catchUp(name);
        loop = replication;
      }
    }
    router = await Router.open(this.providers, routerOptions(config), hooks);
    router.start();
    if (loop) this.startWorker(loop);
    return router;
  }

  /**
   * The provider background work runs on: the current writer (the router's,
   * when routed; else the primary), directly — it sees every tenant.
   */
  async writer(): Promise<Provider> {
    const name = this.routed && this.opening ? (await this.opening).currentWriter : this.providers.names[0];
    return (await this.providers.get(name as string)).direct();
  }

  /**
   * The embedding worker of this runtime (one, whoever asks), embedding
   * memories and messages with `embedder` (default: the configured one).
   */
  embeddingWorker(embedder?: Embedder): EmbeddingWorker {
    const recall = this.config.recall.embed;
    this.embeddings ??= new EmbeddingWorker(() => this.writer(), embedder ?? this.configuredEmbedder(), {
      schema: this.config.schema,
      types: recall.types,
      batchSize: recall.batchSize,
      intervalMs: recall.intervalMs,
      leaseMs: recall.leaseMs,
    });
    return this.embeddings;
  }

  /** The embedder the config names (built once). */
  configuredEmbedder(): Embedder {
    this.embedder ??= createEmbedder(this.config.embedder);
    return this.embedder;
  }

  /**
   * Start the background workers the config asks for (the embedding worker,
   * unless `recall.embed.mode: off`), once; createMemory, `serve` and
   * `monitor` do, one-shot commands do not.
   */
  startWorkers(embedder?: Embedder): void {
    // Inline mode runs the worker too: it embeds what an inline embedding could not (the embedder was down).
    if (this.config.recall.embed.mode === 'off' || this.embeddingsStarted) return;
    this.embeddingsStarted = true;
    this.startWorker(this.embeddingWorker(embedder));
  }

  /**
   * Re-embed every memory and message with `embedder` on the writer: staged
   * (resumable) while searches answer from the old vectors, then switched in
   * one transaction. Configure `embedder` everywhere afterwards: processes
   * still on the old one refuse to compare (EMBEDDING_MISMATCH).
   */
  async reembed(embedder: Embedder, options: Omit<ReembedOptions, 'schema'> = {}): Promise<ReembedReport> {
    return reembedMemories(await this.writer(), embedder, { schema: this.config.schema, ...options });
  }

  /** Start a background loop that lives as long as this runtime. */
  startWorker(worker: Worker): void {
    this.workers.push(worker);
    worker.start();
  }

  /**
   * The memory API. Configured providers are routed (health, breakers,
   * failover), unless `route: false`; pending migrations are applied to the
   * primary before the first call when `migrate` (the default for the
   * embedded database and a caller's pool). Closing it closes the runtime
   * with `closesRuntime`, else nothing: the runtime's owner closes it.
   */
  async memory(options: MemoryOptions = {}, { closesRuntime = false } = {}): Promise<AgentMemory> {
    const migrate = options.migrate ?? !this.routed;
    let executor: Executor;
    let router: Router | undefined;
    if (options.executor) executor = options.executor;
    else if (this.routed && options.route !== false) executor = router = await this.router({ migrate });
    else executor = new PrimaryExecutor(this.providers);
    if (migrate && !options.executor) {
      // The router may have looked at the schema before it was migrated: a look after it (its first, when that one waited for it).
      const routed = router;
      executor = new MigratingExecutor(executor, this.migration, (migration) => routed?.checkDriftAfter(migration) ?? Promise.resolve());
    }
    return openMemory({
      config: this.config,
      executor,
      ...(options.tenant !== undefined ? { tenant: options.tenant } : {}),
      ...(options.actor !== undefined ? { actor: options.actor } : {}),
      ...(options.embedder ? { embedder: options.embedder } : {}),
      ...(router ? { router } : {}),
      ...(closesRuntime ? { close: () => this.close() } : {}),
      ...(options.model ? { formation: new ModelFormation(options.model, this.config, () => this.writer(), options.formation) } : {}),
    });
  }

  /**
   * Run extraction and summaries in the background for `memory`'s sessions
   * (every tenant's), when the config enables them and the store has a model; once.
   */
  startFormation(memory: AgentMemory): void {
    if (this.formationStarted || memory.formation.model === null) return;
    const { extraction, summaries } = this.config.formation;
    if (!extraction.enabled && !summaries.enabled) return;
    this.formationStarted = true;
    this.startWorker(this.formationWorker(memory));
  }

  /** A formation worker over `memory` (status, one-shot passes: `agentmem extract`). */
  formationWorker(memory: AgentMemory): FormationWorker {
    return new FormationWorker(memory, () => this.writer(), this.config);
  }

  /** Stop the workers and the router, then close the providers it owns (a caller's set, or a caller's pool, stays open). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.workers.splice(0).map((w) => w.stop()));
    const opening = this.opening;
    if (opening) await opening.then((router) => router.stop()).catch(() => undefined);
    if (this.ownsProviders) await this.providers.close();
  }
}
