/** One provider in the config: its name, URLs, pooler, pool and timeouts. */
import { z } from 'zod';

/** Defaults chosen so that a paused or black-holed server costs seconds, never a hang. */
export const DEFAULT_TIMEOUTS = {
  connectMs: 5_000,
  queryMs: 15_000,
  statementMs: 10_000,
  idleInTransactionMs: 30_000,
} as const;

export const providerName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/i, 'must be letters, digits, "-" or "_" (at most 63 characters)');

const postgresUrl = z
  .string()
  .refine((value) => /^postgres(ql)?:\/\//i.test(value), 'must be a postgres:// or postgresql:// URL')
  .refine((value) => {
    try {
      new URL(value);
      return true;
    } catch {
      return false;
    }
  }, 'is not a valid URL');

export const timeoutsSchema = z
  .object({
    /** Bound on opening a connection. */
    connectMs: z.number().int().min(100).max(600_000).default(DEFAULT_TIMEOUTS.connectMs),
    /** Client-side bound on one query (it fires even when the server is paused). */
    queryMs: z.number().int().min(100).max(3_600_000).default(DEFAULT_TIMEOUTS.queryMs),
    /** The server's statement_timeout. */
    statementMs: z.number().int().min(100).max(3_600_000).default(DEFAULT_TIMEOUTS.statementMs),
    /** The server's idle_in_transaction_session_timeout. */
    idleInTransactionMs: z.number().int().min(100).max(3_600_000).default(DEFAULT_TIMEOUTS.idleInTransactionMs),
  })
  .strict();

export const poolSchema = z
  .object({
    /** Connections in this process's pool to the provider. */
    max: z.number().int().min(1).max(500).default(10),
    /** An idle connection is closed after this long. */
    idleTimeoutMs: z.number().int().min(0).max(3_600_000).default(10_000),
  })
  .strict();

export const providerSchema = z
  .object({
    /** A short name (neon, supabase …) that commands and metrics use. */
    name: providerName,
    /** `postgres` (a server) or `embedded` (PGlite in `dataDir`). */
    kind: z.enum(['postgres', 'embedded']).default('postgres'),
    /** The connection URL (postgresql://…); TLS verify-full unless it says otherwise or the host is local. */
    url: postgresUrl.optional(),
    /**
     * A direct (session-mode) connection for the work that needs one or must see
     * every tenant: migrations, replication, verify, health counts, schema fix.
     * Point it at a role that owns the tables or has BYPASSRLS when `url` is a
     * restricted application role or a transaction pooler. Default: `url`.
     */
    directUrl: postgresUrl.optional(),
    /**
     * `transaction` when `url` goes through a transaction pooler (PgBouncer):
     * then nothing may rely on a session there (migrations and `schema fix`
     * need `directUrl`). Default: recognised from the URL — Neon's `-pooler`
     * hosts, Supabase's pooler (port 6543, `pooler.supabase.com`), `?pgbouncer=true`.
     */
    pooler: z.enum(['transaction', 'none']).optional(),
    /** An embedded provider's directory. */
    dataDir: z.string().min(1).optional(),
    /** `primary` takes writes first; default: the first provider. */
    role: z.enum(['primary', 'replica']).optional(),
    pool: poolSchema.prefault({}),
    timeouts: timeoutsSchema.prefault({}),
  })
  .strict()
  .superRefine((provider, ctx) => {
    if (provider.kind === 'postgres' && !provider.url) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'is required for a postgres provider' });
    }
  });
