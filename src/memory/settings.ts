import { newId } from '../core/ids.js';
import { fromRow, type View, viewColumns } from '../core/views.js';
import { ValidationError } from '../errors/index.js';
import type { StoreContext } from './context.js';
import { checkJson, checkSize, cleanText, identifier, parseInput } from './validation.js';

export interface Setting {
  category: string;
  key: string;
  value: unknown;
  description: string | null;
  updatedAt: Date;
}

/** How the memory API reads a setting (the registry's types convert each value). */
const SETTING_VIEW: View = {
  table: 'settings',
  fields: { category: 'category', key: 'key', value: 'value', description: 'description', updatedAt: 'updated_at' },
  absent: 'null',
};

const settingName = identifier;
const describe = cleanText(2000).optional();

/** `CATEGORY_KEY`, the environment variable that backs a setting missing from the database. */
export const envNameFor = (category: string, key: string): string => `${category}_${key}`.toUpperCase().replace(/[^A-Z0-9]+/g, '_');

interface CacheEntry {
  value: unknown;
  found: boolean;
  loadedAt: number;
}

/**
 * Settings keyed by (category, key) with JSON values. Reads go through a TTL
 * cache that stores only successful loads: a failed load is retried on the
 * next call instead of being remembered (the system we replace cached
 * failures for 60 s). Typed getters fall back to the environment.
 */
export class Settings {
  private readonly cache = new Map<string, CacheEntry>();

  constructor(
    private readonly ctx: StoreContext,
    private readonly ttlMs: number,
    private readonly env: Record<string, string | undefined> = process.env,
  ) {}

  async set(category: string, key: string, value: unknown, description?: string): Promise<void> {
    const c = parseInput(settingName, category, 'setting category');
    const k = parseInput(settingName, key, 'setting key');
    const d = parseInput(describe, description, 'setting description');
    if (value === undefined) throw new ValidationError('setting value is required (use delete() to remove a setting)');
    checkJson(value, 'setting value');
    checkSize(value, 'setting value', this.ctx.limits.maxContentBytes);
    await this.ctx.write(
      'settings.set',
      async (tx, { provider }) => {
        await tx.query(
          `INSERT INTO ${this.ctx.table('settings')} AS s (tenant_id, category, key, id, value, description, updated_at, version, origin)
         VALUES ($1, $2, $3, $4, $5, $6, now(), $7, $8)
         ON CONFLICT (tenant_id, category, key) DO UPDATE
           SET value = EXCLUDED.value, description = coalesce(EXCLUDED.description, s.description),
               updated_at = now(), deleted_at = NULL, version = EXCLUDED.version, origin = EXCLUDED.origin`,
          [this.ctx.tenant, c, k, newId(), JSON.stringify(value), d ?? null, this.ctx.version(), provider],
        );
      },
      { single: true },
    );
    this.cache.delete(`${c}\u0000${k}`);
  }

  async delete(category: string, key: string): Promise<boolean> {
    const c = parseInput(settingName, category, 'setting category');
    const k = parseInput(settingName, key, 'setting key');
    const removed = await this.ctx.deleteRow('settings.delete', 'settings', { category: c, key: k });
    this.cache.delete(`${c}\u0000${k}`);
    return removed;
  }

  /** The stored value, or undefined. Cached for the TTL; failures are not cached. */
  async get(category: string, key: string): Promise<unknown> {
    return this.load(category, key, true);
  }

  /** The stored value as the database holds it now (no cache): for what must not lag, like a revoked key. */
  async fresh(category: string, key: string): Promise<unknown> {
    return this.load(category, key, false);
  }

  private async load(category: string, key: string, cache: boolean): Promise<unknown> {
    const c = parseInput(settingName, category, 'setting category');
    const k = parseInput(settingName, key, 'setting key');
    const cacheKey = `${c}\u0000${k}`;
    const cached = this.cache.get(cacheKey);
    if (cache && cached && Date.now() - cached.loadedAt < this.ttlMs) return cached.found ? cached.value : undefined;
    const entry = await this.ctx.read(
      'settings.get',
      async (tx) => {
        const { rows } = await tx.query<{ value: unknown }>(
          `SELECT value FROM ${this.ctx.table('settings')} WHERE tenant_id = $1 AND category = $2 AND key = $3 AND deleted_at IS NULL`,
          [this.ctx.tenant, c, k],
        );
        return { value: rows[0]?.value, found: rows.length > 0, loadedAt: Date.now() };
      },
      { single: true },
    );
    this.cache.set(cacheKey, entry);
    return entry.found ? entry.value : undefined;
  }

  async list(category?: string): Promise<Setting[]> {
    const c = category === undefined ? null : parseInput(settingName, category, 'setting category');
    return this.ctx.read('settings.list', async (tx) => {
      const { rows } = await tx.query(
        `SELECT ${viewColumns(SETTING_VIEW)} FROM ${this.ctx.table('settings')}
          WHERE tenant_id = $1 AND deleted_at IS NULL AND ($2::text IS NULL OR category = $2)
          ORDER BY category, key`,
        [this.ctx.tenant, c],
      );
      return rows.map((r) => fromRow(SETTING_VIEW, r) as unknown as Setting);
    });
  }

  /** The database value, else the CATEGORY_KEY environment variable (parsed as JSON when it is JSON), else the default. */
  private async raw(category: string, key: string): Promise<unknown> {
    const stored = await this.get(category, key);
    if (stored !== undefined) return stored;
    const fromEnv = this.env[envNameFor(category, key)];
    if (fromEnv === undefined) return undefined;
    try {
      return JSON.parse(fromEnv);
    } catch {
      return fromEnv;
    }
  }

  async getBool(category: string, key: string, fallback?: boolean): Promise<boolean | undefined> {
    const value = await this.raw(category, key);
    if (value === undefined) return fallback;
    if (typeof value === 'boolean') return value;
    if (typeof value === 'number') return value !== 0;
    if (typeof value === 'string' && /^(1|true|yes|on)$/i.test(value)) return true;
    if (typeof value === 'string' && /^(0|false|no|off)$/i.test(value)) return false;
    throw new ValidationError(`setting ${category}.${key} is ${JSON.stringify(value)}, not a boolean`);
  }

  async getInt(category: string, key: string, fallback?: number): Promise<number | undefined> {
    return this.getNumber(category, key, fallback, Number.isSafeInteger, 'an integer');
  }

  async getFloat(category: string, key: string, fallback?: number): Promise<number | undefined> {
    return this.getNumber(category, key, fallback, Number.isFinite, 'a number');
  }

  private async getNumber(category: string, key: string, fallback: number | undefined, accept: (n: number) => boolean, what: string) {
    const value = await this.raw(category, key);
    if (value === undefined) return fallback;
    const n = typeof value === 'string' ? Number(value.trim()) : value;
    if (typeof n !== 'number' || !accept(n))
      throw new ValidationError(`setting ${category}.${key} is ${JSON.stringify(value)}, not ${what}`);
    return n;
  }

  async getJSON<T = unknown>(category: string, key: string, fallback?: T): Promise<T | undefined> {
    const value = await this.raw(category, key);
    return value === undefined ? fallback : (value as T);
  }

  /** Drop cached values (e.g. after another process changed settings). */
  clearCache(): void {
    this.cache.clear();
  }
}
