import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { z } from 'zod';
import { ConfigError, loadOptional } from '../errors/index.js';
import { type AgentmemConfig, type ConfigInput, configSchema, type ProviderConfigInput, type ResolvedProvider } from './definition.js';
import { agentmemEnvConfig, legacyEnvConfig } from './env.js';
import { redact, registerSecret, registerUrlSecrets } from './redact.js';

export interface LoadConfigOptions {
  /** Directory to look for agentmem.config.{json,ts,js,mjs} in; default process.cwd(). */
  cwd?: string;
  /** Explicit config file (also AGENTMEM_CONFIG). */
  configPath?: string;
  env?: Record<string, string | undefined>;
  /** Values that win over file and environment (used by tests and the library API). */
  overrides?: Partial<ConfigInput>;
}

const CONFIG_FILES = ['agentmem.config.json', 'agentmem.config.ts', 'agentmem.config.mjs', 'agentmem.config.js'];

async function readConfigFile(path: string): Promise<Partial<ConfigInput>> {
  if (path.endsWith('.json')) {
    try {
      return JSON.parse(readFileSync(path, 'utf8')) as Partial<ConfigInput>;
    } catch (error) {
      throw new ConfigError(`${path} is not valid JSON: ${redact((error as Error).message)}`, { file: path });
    }
  }
  // A .ts config is loaded through tsx so users need no build step for it.
  const mod = path.endsWith('.ts')
    ? ((await (
        await loadOptional(`a TypeScript config file (${path})`, ['tsx'], () => import('tsx/esm/api'))
      ).tsImport(pathToFileURL(path).href, import.meta.url)) as { default?: unknown })
    : ((await import(pathToFileURL(path).href)) as { default?: unknown });
  const value = (mod.default ?? mod) as { default?: unknown };
  return (value.default ?? value) as Partial<ConfigInput>;
}

function mergeProviders(...lists: (ProviderConfigInput[] | undefined)[]): ProviderConfigInput[] {
  const merged = new Map<string, ProviderConfigInput>();
  for (const list of lists) {
    for (const provider of list ?? []) {
      const key = String(provider?.name ?? `#${merged.size}`);
      merged.set(key, { ...merged.get(key), ...provider });
    }
  }
  return [...merged.values()];
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Later layers win field by field, nested sections included (an env variable sets one field, not a whole section). */
function deepMerge(base: Record<string, unknown>, layer: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [key, value] of Object.entries(layer)) {
    if (value === undefined) continue;
    out[key] = isPlainObject(value) && isPlainObject(out[key]) ? deepMerge(out[key], value) : value;
  }
  return out;
}

function mergeLayers(layers: Partial<ConfigInput>[]): ConfigInput {
  let out: ConfigInput = {};
  for (const layer of layers) {
    const { providers, ...rest } = layer;
    out = deepMerge(out as Record<string, unknown>, rest) as ConfigInput;
    if (providers) out.providers = mergeProviders(out.providers, providers);
  }
  return out;
}

function formatIssues(error: z.ZodError, source: string): string {
  const lines = error.issues.map((issue) => {
    const field = issue.path
      .map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`))
      .join('')
      .replace(/^\./, '');
    return `${field || '(root)'}: ${issue.message}`;
  });
  return `invalid configuration (${source}): ${lines.join('; ')}`;
}

/** Providers in failover order: explicit order first, then the primary, then the rest as listed. */
function orderProviders(config: z.output<typeof configSchema>, cwd: string): ResolvedProvider[] {
  const byName = new Map(config.providers.map((p) => [p.name, p]));
  const explicit = (config.failover.order ?? []).map((name) => byName.get(name)).filter((p) => p !== undefined);
  const ordered = [...explicit, ...config.providers.filter((p) => !explicit.includes(p))];
  // A named primary leads even when the failover order put something else first.
  const primary = config.providers.find((p) => p.role === 'primary');
  if (primary) ordered.splice(0, ordered.length, primary, ...ordered.filter((p) => p !== primary));
  return ordered.map((provider, index) => ({
    ...provider,
    role: index === 0 ? 'primary' : 'replica',
    ...(provider.kind === 'embedded' ? { dataDir: resolve(cwd, provider.dataDir ?? config.embedded.dataDir) } : {}),
  }));
}

export async function loadConfig(options: LoadConfigOptions = {}): Promise<AgentmemConfig> {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const sources: string[] = [];
  const layers: Partial<ConfigInput>[] = [];

  const explicitPath = options.configPath ?? env.AGENTMEM_CONFIG;
  let file: string | undefined;
  if (explicitPath) {
    file = isAbsolute(explicitPath) ? explicitPath : resolve(cwd, explicitPath);
    if (!existsSync(file)) throw new ConfigError(`config file not found: ${file}`, { file });
  } else {
    file = CONFIG_FILES.map((name) => resolve(cwd, name)).find((path) => existsSync(path));
  }
  if (file) {
    layers.push(await readConfigFile(file));
    sources.push(file);
  }

  let legacy: Partial<ConfigInput>;
  let own: Partial<ConfigInput>;
  try {
    legacy = legacyEnvConfig(env);
    own = agentmemEnvConfig(env);
  } catch (error) {
    throw new ConfigError(`invalid configuration (environment): ${(error as Error).message}`);
  }
  if (Object.keys(legacy).length) sources.push('environment (legacy DATABASE_*/NEON/SUPABASE/RAILWAY variables)');
  if (Object.keys(own).length) sources.push('environment (AGENTMEM_* variables)');
  layers.push(legacy, own);
  if (options.overrides) {
    layers.push(options.overrides);
    sources.push('overrides');
  }

  const merged = mergeLayers(layers);
  // Register every password before validation can echo anything back.
  for (const provider of merged.providers ?? []) {
    for (const url of [provider?.url, provider?.directUrl]) {
      if (typeof url !== 'string') continue;
      try {
        registerSecret(decodeURIComponent(new URL(url).password));
        registerSecret(new URL(url).password);
      } catch {
        /* an invalid URL is reported by validation below */
      }
    }
  }
  registerSecret(merged.embedder?.apiKey);
  registerSecret(merged.monitor?.alerts?.telegram?.botToken);
  // Webhook and Alertmanager URLs often carry their secret in the path or query (Slack, Discord): never print any part.
  registerUrlSecrets(merged.monitor?.alerts?.webhook?.url);
  registerUrlSecrets(merged.monitor?.alerts?.alertmanager?.url);
  registerUrlSecrets(merged.monitor?.alerts?.telegram?.baseUrl);
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    throw new ConfigError(redact(formatIssues(parsed.error, sources.join(', ') || 'defaults')), {
      fields: parsed.error.issues.map((issue) => issue.path.join('.')),
    });
  }
  const config = parsed.data;
  return {
    ...config,
    embedded: { dataDir: resolve(cwd, config.embedded.dataDir) },
    router: { ...config.router, eventLog: config.router.eventLog === false ? false : resolve(cwd, config.router.eventLog) },
    monitor: {
      ...config.monitor,
      history: {
        ...config.monitor.history,
        file: config.monitor.history.file === false ? false : resolve(cwd, config.monitor.history.file),
      },
    },
    providers: orderProviders(config, cwd),
    sources: sources.length ? sources : ['defaults (embedded database)'],
  };
}
