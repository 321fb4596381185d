import type { ConfigInput, ProviderConfigInput } from './definition.js';

type Env = Record<string, string | undefined>;

/** The placeholder the system we replace shipped in its .env template. */
const RAILWAY_PLACEHOLDER = 'your_railway_password_here';

const nonEmpty = (value: string | undefined): string | undefined => {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
};

function parseBoolean(name: string, value: string): boolean {
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new Error(`${name} must be true or false`);
}

function parseList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

/**
 * Providers named by the variables of the system we replace, so its users can
 * switch without rewriting .env: NEON_DB_URL, SUPABASE_DB_HOST (+ password),
 * RAILWAY_DB_URL, DATABASE_PROVIDER, DATABASE_FAILOVER_ENABLED/ORDER.
 */
export function legacyEnvConfig(env: Env): Partial<ConfigInput> {
  const providers: ProviderConfigInput[] = [];
  const neon = nonEmpty(env.NEON_DB_URL);
  if (neon) providers.push({ name: 'neon', url: neon });

  const supabaseHost = nonEmpty(env.SUPABASE_DB_HOST);
  const supabasePassword = env.SUPABASE_DB_PASSWORD;
  if (supabaseHost && supabasePassword) {
    providers.push({
      name: 'supabase',
      url: `postgresql://postgres:${encodeURIComponent(supabasePassword)}@${supabaseHost}:5432/postgres`,
    });
  }

  const railway = nonEmpty(env.RAILWAY_DB_URL);
  if (railway && !railway.includes(RAILWAY_PLACEHOLDER)) providers.push({ name: 'railway', url: railway });

  const out: Partial<ConfigInput> = {};
  if (providers.length) out.providers = providers;

  const primary = nonEmpty(env.DATABASE_PROVIDER)?.toLowerCase();
  const failoverEnabled = nonEmpty(env.DATABASE_FAILOVER_ENABLED);
  const failoverOrder = nonEmpty(env.DATABASE_FAILOVER_ORDER);
  if (failoverEnabled !== undefined || failoverOrder !== undefined || primary) {
    const order = failoverOrder ? parseList(failoverOrder).map((n) => n.toLowerCase()) : undefined;
    // The configured primary always leads: the system we replace ignored it once failover was on.
    const ordered = primary ? [primary, ...(order ?? providers.map((p) => p.name)).filter((n) => n !== primary)] : order;
    out.failover = {
      enabled: failoverEnabled === undefined ? true : parseBoolean('DATABASE_FAILOVER_ENABLED', failoverEnabled),
      ...(ordered ? { order: ordered.filter((n) => providers.some((p) => p.name === n)) } : {}),
    };
    if (primary) {
      for (const provider of providers) provider.role = provider.name === primary ? 'primary' : 'replica';
    }
  }
  return out;
}

/**
 * agentmem's own variables: AGENTMEM_PROVIDER_<NAME>_URL (one per provider) and
 * AGENTMEM_PROVIDER_<NAME>_DIRECT_URL (its direct connection, optional),
 * AGENTMEM_PRIMARY, AGENTMEM_FAILOVER_ORDER, AGENTMEM_DATA_DIR, AGENTMEM_SCHEMA,
 * AGENTMEM_TENANT, AGENTMEM_LOG_LEVEL, and the alert channels (below).
 */
export function agentmemEnvConfig(env: Env): Partial<ConfigInput> {
  const out: Partial<ConfigInput> = {};
  const providers: ProviderConfigInput[] = [];
  const directUrls = new Map<string, string>();
  for (const [key, value] of Object.entries(env)) {
    const url = nonEmpty(value);
    const direct = /^AGENTMEM_PROVIDER_([A-Z0-9_]+)_DIRECT_URL$/i.exec(key);
    if (direct?.[1]) {
      if (url) directUrls.set(direct[1].toLowerCase().replace(/_/g, '-'), url);
      continue;
    }
    const match = /^AGENTMEM_PROVIDER_([A-Z0-9_]+)_URL$/i.exec(key);
    if (match?.[1] && url) providers.push({ name: match[1].toLowerCase().replace(/_/g, '-'), url });
  }
  for (const provider of providers) {
    const direct = directUrls.get(provider.name);
    if (direct) provider.directUrl = direct;
  }
  providers.sort((a, b) => a.name.localeCompare(b.name));
  const primary = nonEmpty(env.AGENTMEM_PRIMARY)?.toLowerCase();
  if (primary) for (const provider of providers) provider.role = provider.name === primary ? 'primary' : 'replica';
  if (providers.length) out.providers = providers;

  const order = nonEmpty(env.AGENTMEM_FAILOVER_ORDER);
  if (order) out.failover = { enabled: true, order: parseList(order).map((n) => n.toLowerCase()) };
  const dataDir = nonEmpty(env.AGENTMEM_DATA_DIR);
  if (dataDir) out.embedded = { dataDir };
  const schema = nonEmpty(env.AGENTMEM_SCHEMA);
  if (schema) out.schema = schema;
  const tenant = nonEmpty(env.AGENTMEM_TENANT);
  if (tenant) out.tenant = tenant;
  const embedderKind = nonEmpty(env.AGENTMEM_EMBEDDER);
  const embedderKey = nonEmpty(env.AGENTMEM_EMBEDDER_API_KEY) ?? nonEmpty(env.OPENAI_API_KEY);
  if (embedderKind || nonEmpty(env.AGENTMEM_EMBEDDER_MODEL) || nonEmpty(env.AGENTMEM_EMBEDDER_BASE_URL)) {
    const dimensions = nonEmpty(env.AGENTMEM_EMBEDDER_DIMENSIONS);
    out.embedder = {
      kind: (embedderKind ?? 'openai') as 'openai',
      ...(nonEmpty(env.AGENTMEM_EMBEDDER_MODEL) ? { model: nonEmpty(env.AGENTMEM_EMBEDDER_MODEL) } : {}),
      ...(nonEmpty(env.AGENTMEM_EMBEDDER_BASE_URL) ? { baseUrl: nonEmpty(env.AGENTMEM_EMBEDDER_BASE_URL) } : {}),
      ...(dimensions ? { dimensions: Number(dimensions) } : {}),
      ...(embedderKey ? { apiKey: embedderKey } : {}),
    };
  }
  const level = nonEmpty(env.AGENTMEM_LOG_LEVEL);
  if (level) out.log = { level: level as 'info' };
  const alerts = alertEnvConfig(env);
  if (alerts) out.monitor = { alerts };
  return out;
}

/**
 * Alert channels from the environment: TELEGRAM_BOT_TOKEN and
 * TELEGRAM_ADMIN_CHAT_ID (the names the system we replace used),
 * AGENTMEM_TELEGRAM_BASE_URL, AGENTMEM_ALERT_WEBHOOK_URL, AGENTMEM_ALERTMANAGER_URL.
 */
function alertEnvConfig(env: Env): NonNullable<ConfigInput['monitor']>['alerts'] | undefined {
  const token = nonEmpty(env.TELEGRAM_BOT_TOKEN);
  const chatId = nonEmpty(env.TELEGRAM_ADMIN_CHAT_ID);
  const telegramUrl = nonEmpty(env.AGENTMEM_TELEGRAM_BASE_URL);
  const webhook = nonEmpty(env.AGENTMEM_ALERT_WEBHOOK_URL);
  const alertmanager = nonEmpty(env.AGENTMEM_ALERTMANAGER_URL);
  if (!token && !chatId && !telegramUrl && !webhook && !alertmanager) return undefined;
  return {
    ...(token || chatId || telegramUrl
      ? {
          telegram: {
            ...(token ? { botToken: token } : {}),
            ...(chatId ? { chatId } : {}),
            ...(telegramUrl ? { baseUrl: telegramUrl } : {}),
          },
        }
      : {}),
    ...(webhook ? { webhook: { url: webhook } } : {}),
    ...(alertmanager ? { alertmanager: { url: alertmanager } } : {}),
  };
}
