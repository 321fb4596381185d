import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/index.js';
import { redact, redactUrl } from '../../src/ops/index.js';

const emptyDir = () => mkdtempSync(join(tmpdir(), 'agentmem-config-'));

describe('config loader', () => {
  it('defaults to the embedded database when nothing is configured', async () => {
    const cwd = emptyDir();
    const config = await loadConfig({ cwd, env: {} });
    expect(config.providers).toEqual([]);
    expect(config.embedded.dataDir).toBe(join(cwd, '.agentmem/data'));
    expect(config.schema).toBe('agentmem');
    expect(config.sources).toEqual(['defaults (embedded database)']);
  });

  it("accepts the replaced system's environment variables", async () => {
    const config = await loadConfig({
      cwd: emptyDir(),
      env: {
        NEON_DB_URL: 'postgresql://neon_user:neonpw@neon.example:5432/db',
        SUPABASE_DB_HOST: 'db.supabase.example',
        SUPABASE_DB_PASSWORD: 'p@ss/w:rd%',
        RAILWAY_DB_URL: 'postgresql://postgres:rail@railway.example:6543/railway',
        DATABASE_PROVIDER: 'supabase',
        DATABASE_FAILOVER_ENABLED: 'true',
        DATABASE_FAILOVER_ORDER: ' railway ,  neon ,supabase ',
      },
    });
    expect(config.providers.map((p) => [p.name, p.role])).toEqual([
      ['supabase', 'primary'],
      ['railway', 'replica'],
      ['neon', 'replica'],
    ]);
    const supabase = config.providers[0];
    expect(supabase?.url).toBe(`postgresql://postgres:${encodeURIComponent('p@ss/w:rd%')}@db.supabase.example:5432/postgres`);
    expect(new URL(supabase?.url ?? '').username).toBe('postgres');
    expect(decodeURIComponent(new URL(supabase?.url ?? '').password)).toBe('p@ss/w:rd%');
    expect(config.failover.enabled).toBe(true);
  });

  it('ignores the Railway placeholder password and honours DATABASE_FAILOVER_ENABLED=false', async () => {
    const config = await loadConfig({
      cwd: emptyDir(),
      env: {
        NEON_DB_URL: 'postgresql://u:p@neon.example/db',
        RAILWAY_DB_URL: 'postgresql://postgres:your_railway_password_here@railway.example:5432/railway',
        DATABASE_FAILOVER_ENABLED: 'false',
      },
    });
    expect(config.providers.map((p) => p.name)).toEqual(['neon']);
    expect(config.failover.enabled).toBe(false);
  });

  it('reads agentmem.config.json and lets AGENTMEM_* variables override it', async () => {
    const cwd = emptyDir();
    writeFileSync(
      join(cwd, 'agentmem.config.json'),
      JSON.stringify({
        providers: [
          { name: 'a', url: 'postgresql://u:x@a.example/db', timeouts: { queryMs: 2000 } },
          { name: 'b', url: 'postgresql://u:x@b.example/db', role: 'primary' },
        ],
      }),
    );
    const config = await loadConfig({ cwd, env: { AGENTMEM_PROVIDER_A_URL: 'postgresql://u:y@a2.example/db' } });
    expect(config.providers.map((p) => p.name)).toEqual(['b', 'a']);
    expect(config.providers[1]?.url).toBe('postgresql://u:y@a2.example/db');
    expect(config.providers[1]?.timeouts).toEqual({ connectMs: 5000, queryMs: 2000, statementMs: 10000, idleInTransactionMs: 30000 });
    expect(config.providers[0]?.pool.max).toBe(10);
  });

  it('loads a TypeScript config file', async () => {
    const cwd = emptyDir();
    writeFileSync(
      join(cwd, 'agentmem.config.ts'),
      "const schema: string = 'tsconf';\nexport default { schema, providers: [{ name: 'only', url: 'postgres://u:p@h/db' }] };\n",
    );
    const config = await loadConfig({ cwd, env: {} });
    expect(config.schema).toBe('tsconf');
    expect(config.providers[0]?.name).toBe('only');
  });

  it('rejects invalid config with one message naming the field, and no password in it', async () => {
    const cwd = emptyDir();
    writeFileSync(
      join(cwd, 'agentmem.config.json'),
      JSON.stringify({ providers: [{ name: 'ok', url: 'postgresql://u:Secret-pw-123@h/db', pool: { max: 0 } }] }),
    );
    const error = await loadConfig({ cwd, env: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/providers\[0\]\.pool\.max/);
    expect((error as ConfigError).message).not.toContain('Secret-pw-123');

    const badUrl = await loadConfig({ cwd: emptyDir(), env: { AGENTMEM_PROVIDER_X_URL: 'mysql://u:Secret-pw-123@h/db' } }).catch(
      (e: unknown) => e,
    );
    expect((badUrl as ConfigError).message).toMatch(/providers\[0\]\.url: must be a postgres/);
    expect((badUrl as ConfigError).message).not.toContain('Secret-pw-123');

    const badBool = await loadConfig({ cwd: emptyDir(), env: { DATABASE_FAILOVER_ENABLED: 'maybe' } }).catch((e: unknown) => e);
    expect((badBool as ConfigError).message).toMatch(/DATABASE_FAILOVER_ENABLED/);

    const unknownField = await loadConfig({ cwd: emptyDir(), overrides: { nope: 1 } as never, env: {} }).catch((e: unknown) => e);
    expect((unknownField as ConfigError).code).toBe('CONFIG_INVALID');

    // A renamed key says what it is called now.
    const renamed = await loadConfig({ cwd: emptyDir(), overrides: { backup: { maxAgeHours: 26 } } as never, env: {} }).catch(
      (e: unknown) => e,
    );
    expect((renamed as ConfigError).message).toMatch(/backup\.maxAgeHours: backup\.maxAgeHours is now backup\.rpoHours/);

    // Each compression takes its own levels: brotli's quality 0–11, gzip's 1–9.
    const level = (backup: Record<string, unknown>) => loadConfig({ cwd: emptyDir(), overrides: { backup } as never, env: {} });
    expect((await level({ compressionLevel: 0 })).backup).toMatchObject({ compression: 'brotli', compressionLevel: 0 });
    const gzipZero = await level({ compression: 'gzip', compressionLevel: 0 }).catch((e: unknown) => e);
    expect((gzipZero as ConfigError).message).toMatch(/backup\.compressionLevel: gzip takes a level from 1 to 9/);
  });

  it('rejects a failover order naming an unknown provider and duplicate names', async () => {
    const error = await loadConfig({
      cwd: emptyDir(),
      env: {},
      overrides: {
        providers: [{ name: 'a', url: 'postgres://h/db' }],
        failover: { enabled: true, order: ['a', 'zzz'] },
      },
    }).catch((e: unknown) => e);
    expect((error as ConfigError).message).toMatch(/failover\.order\[1\]: names unknown provider "zzz"/);
  });
});

describe('redaction', () => {
  it('removes passwords from URLs and registered secrets from any text', () => {
    expect(redactUrl('postgresql://user:hunter2@host:5432/db?sslmode=require')).toBe('postgresql://user:***@host:5432/db?sslmode=require');
    expect(redact('connect postgres://a:b3cr3t@h/db failed')).toBe('connect postgres://a:***@h/db failed');
  });
});
