import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { type AgentmemConfig, registerSecret } from '../config/index.js';
import { ConfigError } from '../errors/index.js';
import { PgProvider, type ProviderSet } from '../providers/index.js';

export interface RotationResult {
  provider: string;
  /** The login role the provider's URL used until now: it keeps working until the next rotation. */
  previousRole: string;
  /** The login role the new URL uses, with a new password. */
  role: string;
  /** The new URL (a secret: shown once, or written where the config came from). */
  url: string;
  /** The config file the new URL was written to, when it came from one. */
  writtenTo: string | null;
}

/** The other login role of a pair: U ↔ U_b. Each rotation moves to the other one. */
export function alternateRole(role: string): string {
  return role.endsWith('_b') ? role.slice(0, -2) : `${role}_b`;
}

/**
 * A SCRAM-SHA-256 verifier for `password`, computed here: the server stores it
 * as it is, so the password itself never reaches the server (or its logs).
 */
export function scramVerifier(password: string, salt: Buffer = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/**
 * Zero-downtime password rotation with two login roles used in turn (U and
 * U_b, the second a member of the first, so it has the same rights): set a new
 * password on the role not in use, prove it by connecting and reading the
 * schema with it, then hand out the new URL. Processes still on the old URL
 * keep working — restart them one by one — until the next rotation changes
 * the other role's password. Needs CREATEROLE on the provider's direct
 * connection.
 */
export async function rotateCredentials(config: AgentmemConfig, providers: ProviderSet, name: string): Promise<RotationResult> {
  const resolved = config.providers.find((p) => p.name === name);
  if (!resolved?.url)
    throw new ConfigError(`provider "${name}" has no URL to rotate (the embedded database has no credentials)`, { provider: name });
  const current = new URL(resolved.url);
  const previousRole = decodeURIComponent(current.username);
  if (!previousRole) throw new ConfigError(`provider "${name}": its URL names no user`, { provider: name });
  const role = alternateRole(previousRole);
  const password = randomBytes(24).toString('base64url');
  registerSecret(password);

  const admin = (await providers.get(name)).direct();
  await admin.transaction(async (tx) => {
    const { rows } = await tx.query<{ exists: boolean }>('SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS exists', [role]);
    const statements: string[] = [];
    if (!rows[0]?.exists) {
      const { rows: created } = await tx.query<{ create: string; grant: string }>(
        "SELECT format('CREATE ROLE %I LOGIN INHERIT', $1::text) AS create, format('GRANT %I TO %I', $2::text, $1::text) AS grant",
        [role, previousRole],
      );
      statements.push(created[0]?.create as string, created[0]?.grant as string);
    }
    const { rows: alter } = await tx.query<{ sql: string }>(
      "SELECT format('ALTER ROLE %I WITH LOGIN PASSWORD %L', $1::text, $2::text) AS sql",
      [role, scramVerifier(password)],
    );
    statements.push(alter[0]?.sql as string);
    for (const sql of statements) await tx.query(sql);
  });

  const next = new URL(resolved.url);
  next.username = encodeURIComponent(role);
  next.password = encodeURIComponent(password);
  const url = next.toString();
  // Proof before anything depends on it: connect as the new role and read the schema.
  const probe = new PgProvider({ ...resolved, url, directUrl: undefined, pool: { max: 1, idleTimeoutMs: 1000 } });
  try {
    await probe.transaction((tx) => tx.query(`SELECT count(*) FROM ${config.schema}.settings`), { single: true });
  } finally {
    await probe.close();
  }
  return { provider: name, previousRole, role, url, writtenTo: writeBack(config, name, resolved.url, url) };
}

/** Replace the provider's URL in the JSON config file it came from; null when it came from elsewhere (environment, code). */
function writeBack(config: AgentmemConfig, name: string, oldUrl: string, newUrl: string): string | null {
  const file = config.sources.find((s) => s.endsWith('.json') && existsSync(s));
  if (!file) return null;
  const document = JSON.parse(readFileSync(file, 'utf8')) as { providers?: { name?: string; url?: string }[] };
  const entry = document.providers?.find((p) => p.name === name && p.url === oldUrl);
  if (!entry) return null;
  entry.url = newUrl;
  const temporary = `${file}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(document, null, 2)}\n`, { mode: statSync(file).mode & 0o777 });
  renameSync(temporary, file);
  return file;
}
