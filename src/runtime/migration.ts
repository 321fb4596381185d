import type { ExecutionContext, ExecutionOptions, Executor, Provider, Queryable } from '../providers/index.js';
import type { Migrator } from '../schema/index.js';

/** Pending migrations applied to the primary, once: runs share one attempt, and a failed attempt is made again by the next run. */
export class PrimaryMigration {
  private running: Promise<void> | undefined;

  constructor(
    private readonly primary: () => Promise<Provider>,
    private readonly migratorFor: (provider: Provider) => Migrator,
  ) {}

  run(): Promise<void> {
    if (!this.running) {
      const running = this.primary()
        .then((p) => this.migratorFor(p).up())
        .then(() => undefined);
      running.catch(() => {
        if (this.running === running) this.running = undefined;
      });
      this.running = running;
    }
    return this.running;
  }
}

/**
 * Applies pending migrations to the primary once, before the first operation.
 * `afterMigration` is what must also be done before it (the router's look at
 * the schema it migrated).
 */
export class MigratingExecutor implements Executor {
  private ready: Promise<void> | undefined;
  /** Migrated: every later call goes straight through (no await on a settled promise per call). */
  private migrated = false;

  constructor(
    private readonly inner: Executor,
    private readonly migration: PrimaryMigration,
    private readonly afterMigration: (migration: Promise<void>) => Promise<void> = () => Promise.resolve(),
  ) {}

  private ensure(): Promise<void> {
    if (!this.ready) {
      const migration = this.migration.run();
      const ready = migration
        .then(() => this.afterMigration(migration))
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
