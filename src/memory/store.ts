import { type AgentmemConfig, type LoadConfigOptions, loadConfig } from '../config/index.js';
import {
  type ExecutionContext,
  type ExecutionOptions,
  type Executor,
  type Provider,
  ProviderSet,
  type Queryable,
  Router,
  routerOptions,
  runOn,
} from '../providers/index.js';
import { ReplicationLoop, Replicator, SyncAcknowledger } from '../replication/index.js';
import { diffSchema, Migrator } from '../schema/index.js';
import { Atoms } from './atoms.js';
import { StoreContext } from './context.js';
import { createEmbedder, type Embedder } from './embedders.js';
import { Memories } from './memories.js';
import { Sessions } from './sessions.js';
import { Settings } from './settings.js';
import { identifier, parseInput } from './validation.js';

/**
 * Sends every operation to the primary provider, opened on first use. The
 * multi-provider Router (failover, latency routing) implements the same
 * Executor interface and replaces this when several providers are configured.
 */
export class PrimaryExecutor implements Executor {
  constructor(private readonly set: ProviderSet) {}

  async write<T>(_operation: string, fn: (tx: Queryable, context: ExecutionContext) => Promise<T>, options?: ExecutionOptions): Promise<T> {
    return runOn(await this.set.primary(), fn, options);
  }

  read<T>(operation: string, fn: (tx: Queryable, context: ExecutionContext) => Promise<T>, options?: ExecutionOptions): Promise<T> {
    return this.write(operation, fn, options);
  }
}

/** Sends every operation to one given provider: no routing, no failover (self-tests, per-provider checks). */
export class DirectExecutor implements Executor {
  constructor(private readonly provider: Provider) {}

  write<T>(_operation: string, fn: (tx: Queryable, context: ExecutionContext) => Promise<T>, options?: ExecutionOptions): Promise<T> {
    return runOn(this.provider, fn, options);
  }

  read<T>(operation: string, fn: (tx: Queryable, context: ExecutionContext) => Promise<T>, options?: ExecutionOptions): Promise<T> {
    return this.write(operation, fn, options);
  }
}

export interface MemoryOptions {
  /** A loaded config, or options for loading one (default: the working directory and environment). */
  config?: AgentmemConfig | LoadConfigOptions;
  /** Tenant for every call (default: config.tenant). */
  tenant?: string;
  /** Where work runs (default: the primary provider of the config). */
  executor?: Executor;
  embedder?: Embedder;
  /** Apply pending migrations to the primary before the first call (default: true for the embedded default). */
  migrate?: boolean;
}

/** The agent-facing API. Nothing connects until the first call. */
export class AgentMemory {
  readonly sessions: Sessions;
  readonly memories: Memories;
  readonly atoms: Atoms;
  readonly settings: Settings;

  constructor(
    readonly context: StoreContext,
    readonly config: AgentmemConfig,
    private readonly owned: ProviderSet | undefined,
    /** The router, when this store owns one (configured providers). */
    readonly router?: Router,
    /** Background replication between the configured providers. */
    readonly replication?: ReplicationLoop,
  ) {
    this.sessions = new Sessions(context);
    this.memories = new Memories(context);
    this.atoms = new Atoms(context);
    this.settings = new Settings(context, config.settings.cacheTtlMs);
  }

  get tenant(): string {
    return this.context.tenant;
  }

  /** The same store, scoped to another tenant (shares connections and the router). */
  forTenant(tenant: string): AgentMemory {
    // Another caller: its own read-your-writes token.
    return new AgentMemory(
      this.context.with({ tenant: parseInput(identifier, tenant, 'tenant'), token: {} }),
      this.config,
      undefined,
      this.router,
    );
  }

  /** Close the connections this store opened (a store from forTenant() shares them and closes nothing). */
  async close(): Promise<void> {
    if (!this.owned) return;
    await this.replication?.stop();
    await this.router?.stop();
    await this.owned.close();
  }
}

export async function createMemory(options: MemoryOptions = {}): Promise<AgentMemory> {
  const config =
    options.config && 'providers' in options.config ? options.config : await loadConfig(options.config as LoadConfigOptions | undefined);
  const tenant = parseInput(identifier, options.tenant ?? config.tenant, 'tenant');
  const owned = options.executor ? undefined : ProviderSet.fromConfig(config);
  // Configured providers go through the router (health, breakers, failover); the embedded default needs none.
  const router = owned && config.providers.length ? await Router.open(owned, routerOptions(config)) : undefined;
  let replication: ReplicationLoop | undefined;
  if (router) {
    router.driftCheck = async (provider) => {
      const report = await diffSchema(provider, { schema: config.schema, embeddingDim: config.embedder.dimensions });
      const blocking = report.items.filter((i) => i.severity === 'blocking');
      return { blocking: blocking.length > 0, summary: blocking.map((i) => `${i.kind} ${i.object} ${i.change}`).join(', ') };
    };
    router.start();
    if (config.providers.length > 1) {
      const replicator = new Replicator({ schema: config.schema, batchSize: config.replication.batchSize });
      if (config.replication.ack === 'sync') {
        const acknowledger = new SyncAcknowledger(replicator);
        router.confirmDurable = (source, target, at) => acknowledger.confirm(source, target, at);
      }
      if (config.replication.enabled) replication = new ReplicationLoop(router, replicator, config.replication.intervalMs).start();
    }
  }
  let executor = options.executor ?? router ?? new PrimaryExecutor(owned as ProviderSet);
  const migrate = options.migrate ?? config.providers.length === 0;
  if (migrate && owned) executor = new MigratingExecutor(executor, owned, config);
  const embedder = options.embedder ?? createEmbedder(config.embedder);
  const context = new StoreContext({
    executor,
    tenant,
    schema: config.schema,
    limits: config.limits,
    search: config.search,
    embedder,
    slowQueryMs: config.monitor.slowQueryMs,
  });
  return new AgentMemory(context, config, owned, router, replication);
}

/** Applies pending migrations to the primary once, before the first operation. */
class MigratingExecutor implements Executor {
  private ready: Promise<void> | undefined;

  constructor(
    private readonly inner: Executor,
    private readonly set: ProviderSet,
    private readonly config: AgentmemConfig,
  ) {}

  private ensure(): Promise<void> {
    if (!this.ready) {
      const ready = this.set
        .primary()
        .then((p) => new Migrator(p, { schema: this.config.schema, embeddingDim: this.config.embedder.dimensions }).up())
        // The router saw the schema before it was migrated: let it look again.
        .then(() => (this.inner instanceof Router ? this.inner.checkDrift() : undefined));
      // A failed migration is tried again on the next call, not remembered.
      ready.catch(() => {
        if (this.ready === ready) this.ready = undefined;
      });
      this.ready = ready;
    }
    return this.ready;
  }

  async write<T>(operation: string, fn: (tx: Queryable, context: ExecutionContext) => Promise<T>, options?: ExecutionOptions): Promise<T> {
    await this.ensure();
    return this.inner.write(operation, fn, options);
  }

  async read<T>(operation: string, fn: (tx: Queryable, context: ExecutionContext) => Promise<T>, options?: ExecutionOptions): Promise<T> {
    await this.ensure();
    return this.inner.read(operation, fn, options);
  }
}
