import { createHash, randomBytes, scrypt as scryptCallback, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { z } from 'zod';
import { newId } from '../core/ids.js';
import { NotFoundError, ValidationError } from '../errors/index.js';
import type { AgentMemory } from '../memory/index.js';
import { identifier, parseInput } from '../memory/validation.js';

const scrypt = promisify(scryptCallback) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>;

export const KEY_SCOPES = ['read', 'write', 'admin'] as const;
export type KeyScope = (typeof KEY_SCOPES)[number];
/** May a key of scope `have` do what needs `need`? (admin ⊃ write ⊃ read) */
export const allows = (have: KeyScope, need: KeyScope) => KEY_SCOPES.indexOf(have) >= KEY_SCOPES.indexOf(need);

/** The settings category keys are kept in (per tenant, so they replicate and back up with it); never served by the API. */
export const KEYS_CATEGORY = 'agentmem.api-keys';
const PREFIX = 'amk';

interface StoredKey {
  hash: string;
  salt: string;
  scope: KeyScope;
  name?: string;
  createdAt: string;
  revokedAt?: string;
}
/** Last use is a setting of its own: recording it never rewrites (and so never races) the key's record. */
const lastUsedKey = (id: string) => `${id}.last-used`;

export interface KeyInfo {
  id: string;
  tenant: string;
  scope: KeyScope;
  name: string | null;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface Caller {
  tenant: string;
  keyId: string;
  scope: KeyScope;
}

const tenantCode = (tenant: string) => Buffer.from(tenant, 'utf8').toString('base64url');

/**
 * API keys: `amk_<tenant>.<id>.<secret>` (tenant and secret base64url), shown
 * once; stored as scrypt(secret) under the key's tenant. A key's record is
 * read again after at most a second (a key revoked anywhere stops within it,
 * on every server; at once on the server that revoked it); the
 * scrypt result for a presented key is remembered in this process, so only the
 * first request of a key pays for it. Last use is recorded at most once a minute.
 */
export class ApiKeys {
  private readonly verified = new Map<string, string>(); // sha256(presented) → stored hash it matched
  private readonly lastRecorded = new Map<string, number>();
  /** Key records read in the last `recordTtlMs`: a revocation made elsewhere is seen within that time. */
  private readonly records = new Map<string, { record: StoredKey | undefined; at: number }>();

  /**
   * @param recordTtlMs how long a key's record is reused before it is read again (default 1 s;
   *   0 reads it on every request). A revocation through this object is seen at once.
   */
  constructor(
    private readonly memory: AgentMemory,
    private readonly recordTtlMs = 1000,
  ) {}

  private async record(tenant: string, id: string): Promise<StoredKey | undefined> {
    const cacheKey = `${tenant}\u0000${id}`;
    const cached = this.records.get(cacheKey);
    if (cached && Date.now() - cached.at < this.recordTtlMs) return cached.record;
    const record = (await this.memory.forTenant(tenant).settings.fresh(KEYS_CATEGORY, id)) as StoredKey | undefined;
    if (this.records.size > 10_000) this.records.clear();
    this.records.set(cacheKey, { record, at: Date.now() });
    return record;
  }

  async create(tenantIn: string, scopeIn: KeyScope, name?: string): Promise<KeyInfo & { key: string }> {
    const tenant = parseInput(z.string().min(1).max(200), tenantIn, 'tenant');
    const scope = parseInput(z.enum(KEY_SCOPES), scopeIn, 'scope');
    if (name !== undefined) parseInput(identifier, name, 'key name');
    const id = newId().replace(/-/g, '');
    const secret = randomBytes(32).toString('base64url');
    const salt = randomBytes(16);
    const record: StoredKey = {
      hash: (await scrypt(secret, salt, 32)).toString('hex'),
      salt: salt.toString('hex'),
      scope,
      createdAt: new Date().toISOString(),
      ...(name ? { name } : {}),
    };
    await this.memory.forTenant(tenant).settings.set(KEYS_CATEGORY, id, record, 'API key (scrypt hash)');
    return { ...info(tenant, id, record), key: `${PREFIX}_${tenantCode(tenant)}.${id}.${secret}` };
  }

  async list(tenant: string): Promise<KeyInfo[]> {
    const settings = await this.memory.forTenant(tenant).settings.list(KEYS_CATEGORY);
    const used = new Map(settings.filter((s) => s.key.endsWith('.last-used')).map((s) => [s.key, String(s.value)]));
    return settings
      .filter((s) => !s.key.endsWith('.last-used'))
      .map((s) => info(tenant, s.key, s.value as StoredKey, used.get(lastUsedKey(s.key))));
  }

  async revoke(tenant: string, id: string): Promise<KeyInfo> {
    const settings = this.memory.forTenant(tenant).settings;
    const record = (await settings.fresh(KEYS_CATEGORY, id)) as StoredKey | undefined;
    if (!record) throw new NotFoundError(`no API key ${id} for tenant ${tenant}`, { keyId: id });
    const revoked = { ...record, revokedAt: record.revokedAt ?? new Date().toISOString() };
    await settings.set(KEYS_CATEGORY, id, revoked, 'API key (scrypt hash)');
    this.records.delete(`${tenant}\u0000${id}`);
    return info(tenant, id, revoked);
  }

  /** The caller a presented key stands for, or undefined (unknown, malformed, wrong secret, revoked). */
  async verify(presented: string): Promise<Caller | undefined> {
    if (!presented.startsWith(`${PREFIX}_`)) return undefined;
    // base64url has _ and - but never a dot.
    const parts = presented.slice(PREFIX.length + 1).split('.');
    if (parts.length !== 3) return undefined;
    const [code, id, secret] = parts as [string, string, string];
    if (!/^[0-9a-f]{32}$/.test(id) || !secret) return undefined;
    const tenant = Buffer.from(code, 'base64url').toString('utf8');
    if (!tenant || tenantCode(tenant) !== code) return undefined;
    let record: StoredKey | undefined;
    try {
      record = await this.record(tenant, id);
    } catch (error) {
      if (error instanceof ValidationError) return undefined; // a tenant name the store refuses: no such key
      throw error;
    }
    if (!record || record.revokedAt) return undefined;
    const fingerprint = createHash('sha256').update(presented).digest('hex');
    if (this.verified.get(fingerprint) !== record.hash) {
      const hash = await scrypt(secret, Buffer.from(record.salt, 'hex'), 32);
      const stored = Buffer.from(record.hash, 'hex');
      if (hash.length !== stored.length || !timingSafeEqual(hash, stored)) return undefined;
      if (this.verified.size > 10_000) this.verified.clear();
      this.verified.set(fingerprint, record.hash);
    }
    this.recordUse(tenant, id);
    return { tenant, keyId: id, scope: record.scope };
  }

  /** Last use, at most once a minute per key, in the background: a failed record never fails the request. */
  private recordUse(tenant: string, id: string): void {
    const now = Date.now();
    if (now - (this.lastRecorded.get(id) ?? 0) < 60_000) return;
    this.lastRecorded.set(id, now);
    void this.memory
      .forTenant(tenant)
      .settings.set(KEYS_CATEGORY, lastUsedKey(id), new Date(now).toISOString(), 'API key last use')
      .catch(() => this.lastRecorded.delete(id));
  }
}

function info(tenant: string, id: string, record: StoredKey, lastUsedAt?: string): KeyInfo {
  return {
    id,
    tenant,
    scope: record.scope,
    name: record.name ?? null,
    createdAt: record.createdAt,
    lastUsedAt: lastUsedAt ?? null,
    revokedAt: record.revokedAt ?? null,
  };
}
