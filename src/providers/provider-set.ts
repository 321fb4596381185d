import type pg from 'pg';
import { type AgentmemConfig, DEFAULT_TIMEOUTS, type ResolvedProvider } from '../config/index.js';
import { ProviderNotFoundError, UsageError } from '../errors/index.js';
import { EmbeddedProvider, type EmbeddedSeed } from './embedded-provider.js';
import { PgProvider } from './pg-provider.js';
import type { Provider, ProviderDescription } from './types.js';

/** The provider agentmem uses when none is configured, so a first command just works. */
export function embeddedDefault(config: AgentmemConfig): ResolvedProvider {
  return {
    name: 'embedded',
    kind: 'embedded',
    role: 'primary',
    dataDir: config.embedded.dataDir,
    pool: { max: 1, idleTimeoutMs: 0 },
    timeouts: { ...DEFAULT_TIMEOUTS },
  };
}

/** How providers are opened: a new embedded data directory's seed (see EmbeddedProvider.open). */
export interface OpenOptions {
  embeddedSeed?: EmbeddedSeed | undefined;
}

export async function openProvider(config: ResolvedProvider, options: OpenOptions = {}): Promise<Provider> {
  return config.kind === 'embedded' ? EmbeddedProvider.open(config, options.embeddedSeed) : new PgProvider(config);
}

/** Which providers a command acts on: `--provider NAME`, `--all`, or the default. */
export interface ProviderSelection {
  provider?: string | undefined;
  all?: boolean | undefined;
}

/**
 * Every configured provider, in failover order (primary first), each opened once
 * per process. Closing the set closes every pool and the embedded database.
 */
export class ProviderSet {
  /** Providers being opened, by name: every caller in the meantime waits for the same one. */
  private readonly opening = new Map<string, Promise<Provider>>();

  private constructor(
    readonly configs: ResolvedProvider[],
    private readonly opened: Map<string, Provider>,
    /** One provider on a pg.Pool the caller made (see fromPool). */
    readonly fromCallersPool = false,
    private readonly options: OpenOptions = {},
  ) {}

  static fromConfig(config: AgentmemConfig, options: OpenOptions = {}): ProviderSet {
    const configs = config.providers.length ? config.providers : [embeddedDefault(config)];
    return new ProviderSet(configs, new Map(), false, options);
  }

  /**
   * One provider, `app`, on the caller's pg.Pool (its connection settings,
   * the config's timeouts): the pool an application already has. Closing the
   * set leaves the pool open: it is the caller's.
   */
  static fromPool(config: AgentmemConfig, pool: pg.Pool): ProviderSet {
    const resolved: ResolvedProvider = {
      name: 'app',
      kind: 'postgres',
      role: 'primary',
      pool: { max: (pool.options as { max?: number }).max ?? 10, idleTimeoutMs: 10_000 },
      timeouts: { ...DEFAULT_TIMEOUTS, ...config.providers[0]?.timeouts },
    };
    return new ProviderSet([resolved], new Map([['app', new PgProvider(resolved, pool)]]), true);
  }

  get names(): string[] {
    return this.configs.map((c) => c.name);
  }

  /**
   * Open (once) and return the named provider. Callers that ask at the same
   * time share one opening: a second one would take the embedded database's
   * lock from the first (and refuse), or open a second pool.
   */
  async get(name: string): Promise<Provider> {
    const existing = this.opened.get(name);
    if (existing) return existing;
    const config = this.configs.find((c) => c.name === name);
    if (!config) throw new ProviderNotFoundError(name, this.names);
    let opening = this.opening.get(name);
    if (!opening) {
      opening = openProvider(config, this.options);
      this.opening.set(name, opening);
      opening.then(
        (provider) => {
          this.opened.set(name, provider);
          this.opening.delete(name);
        },
        () => this.opening.delete(name),
      );
    }
    return opening;
  }

  /** What the config says of a provider, before it is opened (the target is filled in once it is). */
  configured(name: string): ProviderDescription {
    const config = this.configs.find((c) => c.name === name);
    return { name, kind: config?.kind ?? 'postgres', role: config?.role ?? 'replica', target: '' };
  }

  primary(): Promise<Provider> {
    return this.get(this.names[0] as string);
  }

  /** Resolve a selection to provider names; with neither flag, `fallback` decides. */
  select(selection: ProviderSelection, fallback: 'all' | 'primary' = 'all'): string[] {
    if (selection.provider && selection.all) throw new UsageError('use either --provider NAME or --all, not both');
    if (selection.provider) {
      if (!this.names.includes(selection.provider)) throw new ProviderNotFoundError(selection.provider, this.names);
      return [selection.provider];
    }
    return selection.all || fallback === 'all' ? this.names : this.names.slice(0, 1);
  }

  async close(): Promise<void> {
    // One still opening is closed once it has opened (it joins `opened` then), else its pool or lock would outlive the set.
    await Promise.allSettled([...this.opening.values()]);
    const providers = [...this.opened.values()];
    this.opened.clear();
    await Promise.all(providers.map((p) => p.close()));
  }
}
