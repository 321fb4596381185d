/**
 * The wiring: from a config to a working memory store — providers, the router
 * (health, breakers, failover) with its hooks into the schema layer (drift)
 * and the replication layer (catch-up, read-your-writes, sync
 * acknowledgement), the background replication loop, and migrations for the
 * embedded default. The layers below know nothing of each other; this module
 * connects them, and the router receives every hook when it is opened.
 */
import { type AgentmemConfig, type LoadConfigOptions, loadConfig } from './config/index.js';
import { type AgentMemory, type Embedder, openMemory, PrimaryExecutor } from './memory/index.js';
import {
  type ExecutionContext,
  type ExecutionOptions,
  type Executor,
  ProviderSet,
  type Queryable,
  Router,
  type RouterHooks,
  routerOptions,
} from './providers/index.js';
import { ReplicationLoop, Replicator, SyncAcknowledger } from './replication/index.js';
import { diffSchema, Migrator, schemaOptions } from './schema/index.js';

export interface MemoryOptions {
  /** A loaded config, or options for loading one (default: the working directory and environment). */
  config?: AgentmemConfig | LoadConfigOptions;
  /** Tenant for every call (default: config.tenant). */
  tenant?: string;
  /** Who writes (an agent, a user, a job): recorded with every change in the change history. */
  actor?: string;
  /** Where work runs (default: the configured providers, through the router when there are any). */
  executor?: Executor;
  embedder?: Embedder;
  /** Apply pending migrations to the primary before the first call (default: true for the embedded default). */
  migrate?: boolean;
}

/**
 * Open agentmem's memory API. Nothing connects until the first call.
 *
 * @example
 * const memory = await createMemory({ tenant: 'acme' });
 * const session = await memory.sessions.create({ agentId: 'support-bot' });
 * await memory.sessions.addMessage(session.id, { role: 'user', content: 'My order is late' });
 * await memory.close();
 */
export async function createMemory(options: MemoryOptions = {}): Promise<AgentMemory> {
  const config =
    options.config && 'providers' in options.config ? options.config : await loadConfig(options.config as LoadConfigOptions | undefined);
  const embedder = {
    ...(options.embedder ? { embedder: options.embedder } : {}),
    ...(options.actor ? { actor: options.actor } : {}),
  };
  if (options.executor)
    return openMemory({ config, executor: options.executor, ...(options.tenant ? { tenant: options.tenant } : {}), ...embedder });

  const providers = ProviderSet.fromConfig(config);
  const migration = (options.migrate ?? config.providers.length === 0) ? new PrimaryMigration(providers, config) : undefined;
  // Configured providers go through the router (health, breakers, failover); the embedded default needs none.
  const wired = config.providers.length ? await wireRouter(config, providers, migration) : undefined;
  let executor: Executor = wired?.router ?? new PrimaryExecutor(providers);
  if (migration) executor = new MigratingExecutor(executor, migration);
  return openMemory({
    config,
    executor,
    ...(options.tenant ? { tenant: options.tenant } : {}),
    ...embedder,
    ...(wired ? { router: wired.router } : {}),
    close: async () => {
      await wired?.replication?.stop();
      await wired?.router.stop();
      await providers.close();
    },
  });
}

/**
 * The memory API over providers an ops command already opened (the embedded
 * database can be open once per process): writes go to the primary, no
 * router; pending migrations are applied first for the embedded default.
 */
export function memoryOver(config: AgentmemConfig, providers: ProviderSet, options: { actor?: string } = {}): AgentMemory {
  let executor: Executor = new PrimaryExecutor(providers);
  if (config.providers.length === 0) executor = new MigratingExecutor(executor, new PrimaryMigration(providers, config));
  return openMemory({ config, executor, ...(options.actor ? { actor: options.actor } : {}) });
}

/**
 * The router over the configured providers, with replication (when there is more than one) wired into its hooks.
 * With a migration asked for, it runs as the router starts, and the router's first look at the schema waits for it
 * (the look before it would only report the migrations it is applying).
 */
async function wireRouter(
  config: AgentmemConfig,
  providers: ProviderSet,
  migration?: PrimaryMigration,
): Promise<{ router: Router; replication?: ReplicationLoop }> {
  const hooks: RouterHooks = {
    driftCheck: async (provider) => {
      const report = await diffSchema(provider, schemaOptions(config));
      const blocking = report.items.filter((i) => i.severity === 'blocking');
      return { blocking: blocking.length > 0, summary: blocking.map((i) => `${i.kind} ${i.object} ${i.change}`).join(', ') };
    },
    ...(migration ? { beforeFirstDriftCheck: () => migration.run() } : {}),
  };
  let replication: ReplicationLoop | undefined;
  // The loop asks the router which providers are up; the router asks the loop to catch a provider up.
  let router: Router | undefined;
  if (config.providers.length > 1) {
    const replicator = new Replicator({ schema: config.schema, batchSize: config.replication.batchSize });
    // Read-your-writes: a provider holds the caller's last write once every table's link from where it was written covers it.
    hooks.replicatedTo = (provider, token) => provider === token.provider || replicator.covered(token.provider, provider) > token.at;
    if (config.replication.ack === 'sync') {
      const acknowledger = new SyncAcknowledger(replicator);
      hooks.confirmDurable = (source, target, at) => acknowledger.confirm(source, target, at);
    }
    if (config.replication.enabled) {
      const loop = new ReplicationLoop(() => router?.availableProviders() ?? [], replicator, config.replication.intervalMs);
      hooks.catchUp = (name) => loop.catchUp(name);
      replication = loop;
    }
  }
  router = await Router.open(providers, routerOptions(config), hooks);
  router.start();
  replication?.start();
  return { router, ...(replication ? { replication } : {}) };
}

/** Pending migrations applied to the primary, once: runs share one attempt, and a failed attempt is made again by the next run. */
class PrimaryMigration {
  private running: Promise<void> | undefined;

  constructor(
    private readonly set: ProviderSet,
    private readonly config: AgentmemConfig,
  ) {}

  run(): Promise<void> {
    if (!this.running) {
      const running = this.set
        .primary()
        .then((p) => new Migrator(p, schemaOptions(this.config)).up())
        .then(() => undefined);
      running.catch(() => {
        if (this.running === running) this.running = undefined;
      });
      this.running = running;
    }
    return this.running;
  }
}

/** Applies pending migrations to the primary once, before the first operation. */
class MigratingExecutor implements Executor {
  private ready: Promise<void> | undefined;
  /** Migrated: every later call goes straight through (no await on a settled promise per call). */
  private migrated = false;

  constructor(
    private readonly inner: Executor,
    private readonly migration: PrimaryMigration,
  ) {}

  private ensure(): Promise<void> {
    if (!this.ready) {
      const migration = this.migration.run();
      const ready = migration
        // The router may have looked at the schema before it was migrated: a look after it (the
        // router's first, when that one waited for this migration).
        .then(() => (this.inner instanceof Router ? this.inner.checkDriftAfter(migration) : undefined))
        .then(() => {
          if (this.ready === ready) this.migrated = true;
        });
      // A failed migration is tried again on the next call, not remembered.
      ready.catch(() => {
        if (this.ready === ready) this.ready = undefined;
      });
      this.ready = ready;
    }
    return this.ready;
  }

  write<T>(operation: string, fn: (tx: Queryable, context: ExecutionContext) => Promise<T>, options?: ExecutionOptions): Promise<T> {
    if (this.migrated) return this.inner.write(operation, fn, options);
    return this.ensure().then(() => this.inner.write(operation, fn, options));
  }

  read<T>(operation: string, fn: (tx: Queryable, context: ExecutionContext) => Promise<T>, options?: ExecutionOptions): Promise<T> {
    if (this.migrated) return this.inner.read(operation, fn, options);
    return this.ensure().then(() => this.inner.read(operation, fn, options));
  }
}
