import { z } from 'zod';
import {
  ARCHIVE_COMPRESSIONS,
  COMPRESSION_LEVELS,
  DEFAULT_ARCHIVE_COMPRESSION,
  DEFAULT_COMPRESSION_LEVEL,
  MEMORY_TYPES,
} from '../core/enums.js';
import { formationSchema, workingMemorySchema } from './formation-schema.js';
import { MONITOR_DEFAULTS, monitorSchema } from './monitor-schema.js';
import { providerName, providerSchema, type timeoutsSchema } from './provider-definition.js';
import { serverSchema } from './server-schema.js';

export { MONITOR_DEFAULTS, monitorSchema } from './monitor-schema.js';
export { DEFAULT_TIMEOUTS, poolSchema, providerSchema, timeoutsSchema } from './provider-definition.js';

/** The most content one row may hold (see limits.maxContentBytes). */
export const MAX_CONTENT_BYTES = 1024 * 1024;

/** How long memories of a type are kept, and what happens after. */
const retentionPolicy = z
  .object({
    /** Days after a memory's createdAt (fractions allowed). */
    ttlDays: z.number().gt(0).max(36_500),
    /** soft: deleted (a tombstone), its content kept in the change history for history.retentionDays; hard: content erased, history rows too. */
    mode: z.enum(['soft', 'hard']).default('soft'),
  })
  .strict();
const retentionPolicies = z.partialRecord(z.enum(MEMORY_TYPES), retentionPolicy);

export const configSchema = z
  .object({
    /** The PostgreSQL schema agentmem's tables live in (one per application sharing a database). */
    schema: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier')
      .default('agentmem'),
    /** The tenant a store acts for unless told otherwise (`createMemory({ tenant })`, `--tenant`). */
    tenant: z.string().min(1).max(200).default('default'),
    /** The PostgreSQL databases, in failover order (the first is the primary unless one has `role: primary`); none: the embedded database. */
    providers: z.array(providerSchema).default([]),
    failover: z
      .object({
        /** Move writes to the next provider when the current one fails. */
        enabled: z.boolean().default(true),
        /** The failover order by provider name (default: the order of `providers`). */
        order: z.array(providerName).optional(),
      })
      .strict()
      .prefault({}),
    router: z
      .object({
        /** primary: reads go where writes go; nearest: lowest recent latency among providers holding the caller's writes. */
        readMode: z.enum(['primary', 'nearest']).default('primary'),
        /** How often the router probes each provider's health. */
        probeIntervalMs: z.number().int().min(50).max(600_000).default(250),
        /** A probe's own bound; a probe that runs out counts as one connection failure. Above the slowest round trip you accept. */
        probeTimeoutMs: z.number().int().min(50).max(60_000).default(3000),
        /**
         * Calls (probes included) that wait this long while their provider answers nothing open
         * its breaker at once: a hung server or path. A slow one keeps answering and never trips
         * it; pauses shorter than silenceMs − probeIntervalMs are ridden out.
         */
        silenceMs: z.number().int().min(200).max(600_000).default(1200),
        /** Consecutive connection failures that open a provider's circuit breaker … */
        failureThreshold: z.number().int().min(1).max(100).default(3),
        /** … once they span this long: shorter pauses never cause a failover. */
        graceMs: z.number().int().min(0).max(600_000).default(2000),
        /** First wait before a half-open trial (doubles up to 10 s). */
        breakMs: z.number().int().min(50).max(600_000).default(500),
        /** Router events (failover, breaker changes) as JSON Lines, shown by `agentmem status`; false for none. */
        eventLog: z.union([z.string().min(1), z.literal(false)]).default('./.agentmem/events.jsonl'),
      })
      .strict()
      .prefault({}),
    embedded: z
      .object({
        /** Where the embedded database (PGlite) keeps its files, when no provider is configured. */
        dataDir: z.string().min(1).default('./.agentmem/data'),
      })
      .strict()
      .prefault({}),
    embedder: z
      .object({
        /** `local`: the built-in embedder (matches words and spellings, not meaning; no network). `openai`: an OpenAI-compatible embeddings endpoint, through the AI SDK (`npm install ai @ai-sdk/openai-compatible`). In code, any AI SDK embedding model. */
        kind: z.enum(['local', 'openai']).default('local'),
        /** The embedding model's name (openai: default text-embedding-3-small). */
        model: z.string().min(1).max(200).optional(),
        /** The vectors' length; vector indexes are built for it. */
        dimensions: z.number().int().min(1).max(16000).default(384),
        /** The endpoint (openai: default https://api.openai.com/v1; `/v1` is added when it does not end with it). */
        baseUrl: z.string().url().optional(),
        /** The endpoint's key (a secret: set it in the environment). */
        apiKey: z.string().min(1).optional(),
        /** Texts per embeddings request. */
        batchSize: z.number().int().min(1).max(2048).default(64),
        /** Bound on one embeddings request. */
        timeoutMs: z.number().int().min(100).max(600_000).default(30_000),
        /**
         * Retries of a failed request (429 and 5xx) by the AI SDK, after 2 s, 4 s, 8 s … or what Retry-After
         * asks. A search waits for them before it answers from full text; the embedding worker retries later anyway.
         */
        maxRetries: z.number().int().min(0).max(10).default(2),
      })
      .strict()
      .prefault({}),
    limits: z
      .object({
        /**
         * Largest content (JSON-encoded bytes) one memory, message or atom may
         * hold. At most 1 MiB: the full-text index of a row holds at most 1 MB
         * of text, and a larger value would fail in the database after the fact.
         */
        maxContentBytes: z
          .number()
          .int()
          .min(1024)
          .max(
            MAX_CONTENT_BYTES,
            `must be at most ${MAX_CONTENT_BYTES} (1 MiB): PostgreSQL's full-text index holds at most 1 MB of text per row`,
          )
          .default(MAX_CONTENT_BYTES),
      })
      .strict()
      .prefault({}),
    replication: z
      .object({
        /** Replicate between configured providers in the background (every process may; the merge is idempotent). */
        enabled: z.boolean().default(true),
        /** How often each process replicates new changes between providers. */
        intervalMs: z.number().int().min(50).max(3_600_000).default(1000),
        /** async: acknowledge after one provider committed; sync: after a second one committed too (RPO 0). */
        ack: z.enum(['async', 'sync']).default('async'),
        /** Changes copied per batch. */
        batchSize: z.number().int().min(1).max(100_000).default(1000),
      })
      .strict()
      .prefault({}),
    search: z
      .object({
        /**
         * HNSW candidate list size for a graph of up to 100,000 rows; larger finds more of the true nearest
         * neighbours, slower (recall@10 0.97–1.0 at 40 in the benchmark at 100k). A larger graph walks with this
         * times rows / 100,000, up to 1000 (a million rows: ×10), as the index's catalog row count says.
         */
        efSearch: z.number().int().min(10).max(1000).default(40),
        /**
         * Vector searches whose filters leave at most this many candidates rank every one exactly (0 with
         * scanThreshold 0: always use the index). Each candidate's embedding is read out of line (migration
         * 0021): past the scan's own re-rank of 100 rows, the scan of sign bits costs less for the same result.
         */
        exactThreshold: z.number().int().min(0).max(10_000_000).default(100),
        /**
         * Above exactThreshold and up to this many candidates, a vector search with a filter the HNSW
         * graph cannot see (anything but the tenant; the tenant alone, up to 1,500 candidates) scans the
         * candidates' embedding sign bits and ranks the nearest few hundred exactly, instead of walking
         * the graph past every row the filter drops
         * (0: never; without an index, every search above exactThreshold). At a million atoms a 1% filter
         * (10,000 rows) scans in ~40 ms where the walk took 86–93; the scan grows with the rows and the walk
         * shrinks, so somewhere above that the walk wins (15,000 is an estimate, not a measured crossover).
         */
        scanThreshold: z.number().int().min(0).max(10_000_000).default(15_000),
        /**
         * A text search ranks its matches by cover density (ts_rank_cd: how closely the query's words
         * occur together), ~6 µs a match. Past this many matches it ranks them all by ts_rank first
         * (~1.6 µs) and this many of those by cover density (0: every match by cover density). Up to
         * it, the result is the exact ranking. At a million atoms (1,100–4,600 matches a query in the
         * benchmark) ts_rank's best 400 held 0.946 of cover density's ten; with 800 the search bench's
         * text recall@10 was 0.988 in both runs.
         */
        textRerank: z.number().int().min(0).max(10_000_000).default(800),
        /**
         * A search within a long history (a user's 1,000 rows or more) ranks the newest this many of the
         * user's rows holding all of the query's words, and the newest this many holding any (0: every
         * match). A query of common words matches most of a long history, and ranking every match grows
         * with it (141 ms at 100,000 rows of one user). The window is found by walking the user's rows newest
         * first, at most twenty windows of them; words too rare to fill it there are read from the text
         * index, however old. A match past the window is still found by the vector half of a hybrid search.
         */
        textWindow: z.number().int().min(0).max(10_000_000).default(200),
        /** maintenance_work_mem for a deferred vector index build (`atoms import --defer-index`): the graph fits in it, or the build slows down. */
        indexBuildMemory: z
          .string()
          .regex(/^[1-9][0-9]*(kB|MB|GB)$/, 'a PostgreSQL memory size such as 512MB or 2GB')
          .default('1GB'),
      })
      .strict()
      .prefault({}),
    recall: z
      .object({
        embed: z
          .object({
            /**
             * `worker`: a write commits without waiting for the embedder; a background worker embeds what is
             * waiting (in createMemory, `serve` and `monitor`). `inline`: each remember and addMessage also waits
             * for its embedding, for callers that must find a write by meaning at once. `off`: nothing is embedded.
             */
            mode: z.enum(['worker', 'inline', 'off']).default('worker'),
            /** Which memory types and message roles (message_user …) are embedded. */
            types: z
              .array(z.enum(MEMORY_TYPES))
              .min(1)
              .default(['fact', 'preference', 'decision', 'issue', 'context', 'summary', 'message_user', 'message_assistant']),
            /** Rows the worker embeds per embedder call. */
            batchSize: z.number().int().min(1).max(2048).default(64),
            /** How long the worker rests when nothing is waiting. */
            intervalMs: z.number().int().min(10).max(3_600_000).default(1000),
            /** How long a worker holds the rows it took before another may take them (after a crash). */
            leaseMs: z.number().int().min(100).max(86_400_000).default(300_000),
          })
          .strict()
          .prefault({}),
        /** Alert when the oldest row waiting for an embedding is older than this. */
        backlogAlertSeconds: z.number().int().min(1).max(604_800).default(600),
      })
      .strict()
      .prefault({}),
    formation: formationSchema,
    workingMemory: workingMemorySchema,
    settings: z
      .object({
        /** How long a process keeps a setting it read before reading it again (0: never cached). */
        cacheTtlMs: z.number().int().min(0).max(86_400_000).default(30_000),
      })
      .strict()
      .prefault({}),
    monitor: monitorSchema.default(MONITOR_DEFAULTS),
    backup: z
      .object({
        /** Where archives go: a directory, or s3://bucket/prefix (credentials from the AWS SDK's chain: AWS_ACCESS_KEY_ID …). */
        destination: z.string().min(1).default('./.agentmem/backups'),
        s3: z
          .object({
            /** An S3-compatible endpoint (MinIO, R2 …); default AWS (or AWS_ENDPOINT_URL_S3). */
            endpoint: z.string().url().optional(),
            /** The bucket's region. */
            region: z.string().min(1).default('us-east-1'),
            /** Address the bucket in the path (MinIO and most S3-compatible stores need it). */
            forcePathStyle: z.boolean().default(false),
            /** Bound on one S3 request. */
            requestTimeoutMs: z.number().int().min(1000).max(600_000).default(30_000),
          })
          .strict()
          .prefault({}),
        /** How archives are compressed: brotli (faster and smaller) or gzip. */
        compression: z.enum(ARCHIVE_COMPRESSIONS).default(DEFAULT_ARCHIVE_COMPRESSION),
        /** The compression's level: brotli 0–11, gzip 1–9; 1 (the default) is the fastest that still compresses well. */
        compressionLevel: z.number().int().min(0).max(11).default(DEFAULT_COMPRESSION_LEVEL),
        /** When `agentmem monitor` makes a backup (cron, UTC). */
        schedule: z.string().min(1).default('0 2 * * *'),
        /** Back up the primary (one copy of replicated data), or every provider. */
        providers: z.enum(['primary', 'all']).default('primary'),
        /** Archives kept by `backup prune`: the newest of each of the last N days, weeks and months. */
        retention: z
          .object({
            /** Archives kept: the newest of each of the last this many days … */
            daily: z.number().int().min(0).max(3650).default(7),
            /** … of each of the last this many weeks … */
            weekly: z.number().int().min(0).max(520).default(4),
            /** … and of each of the last this many months. */
            monthly: z.number().int().min(0).max(1200).default(12),
          })
          .strict()
          .prefault({}),
        /** The restore drill: restore the newest archive into a scratch schema, verify it, record how long it took (RTO). */
        drill: z
          .object({
            /** When the monitor runs it (cron, UTC). */
            schedule: z.string().min(1).default('0 3 * * 0'),
            /** false: no drill. */
            enabled: z.boolean().default(true),
          })
          .strict()
          .prefault({}),
        /**
         * The recovery point objective: `verify` fails, and the "backup stale" alerts fire (the
         * monitor's and the Prometheus rule, through agentmem_backup_rpo_seconds), when the newest
         * verified archive is older than this.
         */
        rpoHours: z
          .number()
          .min(1)
          .max(24 * 365)
          .default(24),
        /**
         * The recovery time objective: a restore drill that takes longer alerts ("restore drill
         * slow"; the Prometheus rule reads agentmem_restore_rto_target_seconds).
         */
        rtoMinutes: z
          .number()
          .min(1)
          .max(24 * 60 * 7)
          .default(60),
        /** Renamed: backup.rpoHours. */
        maxAgeHours: z.never({ error: 'backup.maxAgeHours is now backup.rpoHours (the recovery point objective, default 24)' }).optional(),
      })
      .strict()
      .prefault({}),
    history: z
      .object({
        /** How long the change history keeps changes (and so how far `--as-of` reaches without a backup). */
        retentionDays: z.number().min(1).max(3650).default(30),
      })
      .strict()
      .prefault({}),
    /**
     * Retention per memory type, and per tenant (a tenant's entry replaces the
     * default for the types it names). `agentmem retention run` and the monitor
     * expire memories through the normal delete path; a legal hold
     * (`agentmem retention hold`) on a tenant, user or session suspends it.
     */
    retention: z
      .object({
        /** Per memory type: `{ ttlDays, mode }` (e.g. `"log": { "ttlDays": 30 }`). */
        types: retentionPolicies.default({}),
        /** Per tenant: policies by type that replace the defaults above for the types they name. */
        tenants: z.record(z.string().min(1).max(200), retentionPolicies).default({}),
        /**
         * LangGraph checkpoints (agentmem/langgraph's AgentmemSaver): per thread, keep the newest
         * `keepLatest` and/or those younger than `olderThanDays` — never the newest, never one a kept
         * checkpoint needs. Off unless set.
         */
        checkpoints: z
          .object({
            /** Keep each thread's newest this many checkpoints. */
            keepLatest: z.number().int().min(1).max(1_000_000).optional(),
            /** Drop checkpoints older than this many days. */
            olderThanDays: z.number().min(0.001).max(36_500).optional(),
          })
          .strict()
          .prefault({}),
        /** Memories expired per statement (each a short transaction: writes keep flowing). */
        batchSize: z.number().int().min(1).max(100_000).default(2000),
        /** How often `agentmem monitor` runs it. */
        intervalMs: z
          .number()
          .int()
          .min(1000)
          .max(86_400_000 * 7)
          .default(3_600_000),
      })
      .strict()
      .prefault({}),
    /** No duplicate memories (typed memories written with remember(); messages are a transcript and never deduplicated). */
    dedupe: z
      .object({
        /** The types whose memories are facts: deduplicated. Actions and logs are events that may happen twice. */
        types: z
          .array(z.enum(MEMORY_TYPES))
          .default(['session_metadata', 'fact', 'preference', 'context', 'issue', 'decision'])
          .refine((types) => types.every((t) => !t.startsWith('message_')), 'messages are a transcript and are never deduplicated'),
        /** The same tenant, type, user and normalised content is one memory: the write returns the existing id. */
        exact: z.boolean().default(true),
        /** Embed each memory and link it (duplicateOf) to a current one this similar (cosine), among the newest `window`. */
        near: z
          .object({
            /** Link near-duplicates (needs embeddings at write time). */
            enabled: z.boolean().default(false),
            /** Cosine similarity at or above which a memory is a near-duplicate. */
            threshold: z.number().gt(0).max(1).default(0.92),
            /** How many of the newest current memories are compared. */
            window: z.number().int().min(1).max(100_000).default(2000),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /** `agentmem erase`: the Ed25519 key that signs erasure reports (PEM, PKCS#8); made on first use when missing. */
    erasure: z
      .object({
        /** The signing key's file. */
        signingKeyFile: z.string().min(1).default('./.agentmem/erasure-signing-key.pem'),
      })
      .strict()
      .prefault({}),
    /** `agentmem serve`: the HTTP API, MCP over HTTP, metrics and health. */
    server: serverSchema,
    log: z
      .object({
        /** Log level (JSON lines on stderr; secrets redacted). */
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn'),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    const names = config.providers.map((p) => p.name);
    names.forEach((name, index) => {
      if (names.indexOf(name) !== index) {
        ctx.addIssue({ code: 'custom', path: ['providers', index, 'name'], message: `duplicates provider "${name}"` });
      }
    });
    const primaries = config.providers.filter((p) => p.role === 'primary');
    if (primaries.length > 1) {
      ctx.addIssue({ code: 'custom', path: ['providers'], message: 'more than one provider has role "primary"' });
    }
    const levels = COMPRESSION_LEVELS[config.backup.compression];
    if (config.backup.compressionLevel < levels.min || config.backup.compressionLevel > levels.max) {
      const message = `${config.backup.compression} takes a level from ${levels.min} to ${levels.max}`;
      ctx.addIssue({ code: 'custom', path: ['backup', 'compressionLevel'], message });
    }
    for (const [index, name] of (config.failover.order ?? []).entries()) {
      if (!names.includes(name)) {
        ctx.addIssue({ code: 'custom', path: ['failover', 'order', index], message: `names unknown provider "${name}"` });
      }
    }
  });

/** Every default, from the one place each is written (the schema above). */
export const CONFIG_DEFAULTS = configSchema.parse({});

export type ConfigInput = z.input<typeof configSchema>;
export type ProviderConfigInput = z.input<typeof providerSchema>;
export type ProviderConfig = z.output<typeof providerSchema>;
export type Timeouts = z.output<typeof timeoutsSchema>;

/** A validated config whose providers are in failover order, primary first. */
export type AgentmemConfig = Omit<z.output<typeof configSchema>, 'providers'> & {
  providers: ResolvedProvider[];
  /** Where the config came from, for `config show`. */
  sources: string[];
};

export type ResolvedProvider = ProviderConfig & { role: 'primary' | 'replica' };
