import { z } from 'zod';
import { MEMORY_TYPES, type MemoryType } from '../core/enums.js';
import { idForKey } from '../core/ids.js';
import { ValidationError } from '../errors/index.js';
import { byKey, type StoreContext } from './context.js';
import { PgvectorByProvider } from './search/vector-index.js';
import { checkSize, cleanText, jsonObject, parseInput } from './validation.js';

/**
 * Keyed memories: a memory addressed by a namespace path and a key, whose
 * value a put replaces in place — the model of LangGraph's store, and of any
 * "remember this fact about this user" API. They are rows of `memories` (a
 * typed memory, `context` unless said otherwise), so they replicate, back up,
 * show in recall and keep their change history like every other memory. The
 * id derives from namespace and key: the same item on every provider.
 */
export interface Item {
  namespace: string[];
  key: string;
  value: Record<string, unknown>;
  type: MemoryType;
  createdAt: Date;
  updatedAt: Date;
  expiresAt: Date | null;
  /** Similarity to the query (1 = same direction), on a search with `query`. */
  score?: number;
}

const segment = cleanText(500).pipe(z.string().min(1, 'must not be empty'));
const namespace = z.array(segment).max(20);

const putInput = z
  .object({
    namespace: namespace.min(1, 'must have at least one label'),
    key: segment,
    value: jsonObject,
    type: z.enum(MEMORY_TYPES).default('context'),
    /** Text to embed for `search({ query })`; none leaves the item out of vector search. */
    embedText: cleanText(100_000).optional(),
    /** Gone (not returned, swept) after this long. */
    ttlMs: z.number().int().min(1).optional(),
  })
  .strict();
export type ItemPut = z.input<typeof putInput>;

const searchInput = z
  .object({
    namespacePrefix: namespace.default([]),
    /**
     * Per top-level field of the value: a JSON value it must contain (equal,
     * or for objects and arrays, hold), or operators `$eq $ne $gt $gte $lt
     * $lte $in $nin` (LangGraph's filter language).
     */
    filter: jsonObject.optional(),
    /** Rank by similarity to this text (the store's embedder); items without an embedding come after. */
    query: cleanText(10_000).optional(),
    limit: z.number().int().min(1).max(10_000).default(10),
    offset: z.number().int().min(0).max(1_000_000).default(0),
  })
  .strict();
export type ItemSearch = z.input<typeof searchInput>;

const namespacesInput = z
  .object({
    prefix: z.array(z.union([segment, z.literal('*')])).optional(),
    suffix: z.array(z.union([segment, z.literal('*')])).optional(),
    maxDepth: z.number().int().min(1).max(20).optional(),
    limit: z.number().int().min(1).max(10_000).default(100),
    offset: z.number().int().min(0).default(0),
  })
  .strict();
export type NamespaceQuery = z.input<typeof namespacesInput>;

const COLUMNS = 'namespace, item_key, content, memory_type, created_at, updated_at, expires_at';

function toItem(row: Record<string, unknown>): Item {
  const item: Item = {
    namespace: row.namespace as string[],
    key: row.item_key as string,
    value: row.content as Record<string, unknown>,
    type: row.memory_type as MemoryType,
    createdAt: row.created_at as Date,
    updatedAt: (row.updated_at ?? row.created_at) as Date,
    expiresAt: (row.expires_at as Date | null) ?? null,
  };
  if (row.score !== undefined && row.score !== null) item.score = Number(row.score);
  return item;
}

/** `label ∈ path` matching for `*` wildcards: `path[i] = $n` for every fixed label. */
function pathConditions(labels: string[] | undefined, params: unknown[], at: (i: number) => string, wildcard = true): string[] {
  return (labels ?? []).flatMap((label, i) => {
    if (wildcard && label === '*') return [];
    params.push(label);
    return [`${at(i)} = $${params.length}`];
  });
}

/**
 * The tenant's ($1) live, unexpired items whose namespace starts with `prefix`.
 * With `wildcard`, a `*` label matches any label (LangGraph's namespace listing);
 * without it, every label is itself (a search's prefix, where `*` is a label like any).
 */
function liveItemsUnder(prefix: string[] | undefined, params: unknown[], wildcard: boolean): string[] {
  return [
    'tenant_id = $1',
    'namespace IS NOT NULL',
    'deleted_at IS NULL',
    '(expires_at IS NULL OR expires_at > now())',
    ...pathConditions(prefix, params, (i) => `namespace[${i + 1}]`, wildcard),
  ];
}

const OPERATORS = ['$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin'] as const;
type Operator = (typeof OPERATORS)[number];
const isOperators = (value: unknown): value is Partial<Record<Operator, unknown>> =>
  typeof value === 'object' &&
  value !== null &&
  !Array.isArray(value) &&
  Object.keys(value).length > 0 &&
  Object.keys(value).every((k) => OPERATORS.includes(k as Operator));

/** SQL for a filter: containment per field, or its operators; every value and field name a parameter. */
function filterConditions(filter: Record<string, unknown>, params: unknown[]): string[] {
  const conditions: string[] = [];
  const param = (value: unknown, cast = '') => {
    params.push(value);
    return `$${params.length}${cast}`;
  };
  for (const [field, wanted] of Object.entries(filter)) {
    if (!isOperators(wanted)) {
      conditions.push(`content @> ${param(JSON.stringify({ [field]: wanted }), '::jsonb')}`);
      continue;
    }
    const value = `content -> ${param(field, '::text')}`;
    const number = `CASE WHEN jsonb_typeof(${value}) = 'number' THEN (${value})::numeric END`;
    for (const [op, operand] of Object.entries(wanted)) {
      const json = () => param(JSON.stringify(operand), '::jsonb');
      const list = () => {
        if (!Array.isArray(operand)) throw new ValidationError(`invalid item search: ${field}.${op} takes a list`, { field });
        return `(SELECT jsonb_array_elements(${json()}))`;
      };
      const numeric = () => {
        if (typeof operand !== 'number') throw new ValidationError(`invalid item search: ${field}.${op} takes a number`, { field });
        return param(operand, '::numeric');
      };
      if (op === '$eq') conditions.push(`${value} = ${json()}`);
      else if (op === '$ne') conditions.push(`${value} IS DISTINCT FROM ${json()}`);
      else if (op === '$gt') conditions.push(`${number} > ${numeric()}`);
      else if (op === '$gte') conditions.push(`${number} >= ${numeric()}`);
      else if (op === '$lt') conditions.push(`${number} < ${numeric()}`);
      else if (op === '$lte') conditions.push(`${number} <= ${numeric()}`);
      else if (op === '$in') conditions.push(`${value} IN ${list()}`);
      else conditions.push(`(${value} IS NULL OR ${value} NOT IN ${list()})`);
    }
  }
  return conditions;
}

export class Items {
  private readonly pgvector: PgvectorByProvider;

  constructor(private readonly ctx: StoreContext) {
    this.pgvector = new PgvectorByProvider(ctx.schema, ctx.embedder.dimensions);
  }

  /** The row id of an item: the same for the same namespace and key on every provider. */
  static idOf(namespace: string[], key: string): string {
    return idForKey('', 'item', JSON.stringify([namespace, key]));
  }

  /** Store or replace the item at namespace/key. */
  async put(input: ItemPut): Promise<void> {
    const item = parseInput(putInput, input, 'item');
    checkSize(item.value, 'value', this.ctx.limits.maxContentBytes);
    const embedding = item.embedText === undefined ? null : ((await this.ctx.embed([item.embedText]))[0] as number[]);
    const id = Items.idOf(item.namespace, item.key);
    await this.ctx.write(
      'item.put',
      async (tx, { provider }) => {
        await tx.query(
          `INSERT INTO ${this.ctx.table('memories')} AS m
             (tenant_id, id, memory_type, namespace, item_key, content, metadata, created_at, updated_at, expires_at,
              embedding, embedding_model, embedding_dim, version, origin)
           VALUES ($1, $2, $3, $4, $5, $6, '{}'::jsonb, now(), now(), now() + $7 * interval '1 millisecond',
                   $8::real[], $9, $10, $11, $12)
           ON CONFLICT (tenant_id, id) DO UPDATE
             SET memory_type = EXCLUDED.memory_type, content = EXCLUDED.content, updated_at = EXCLUDED.updated_at,
                 expires_at = EXCLUDED.expires_at, embedding = EXCLUDED.embedding, embedding_model = EXCLUDED.embedding_model,
                 embedding_dim = EXCLUDED.embedding_dim, version = EXCLUDED.version, origin = EXCLUDED.origin,
                 -- A deleted (or expired) item put again starts a new life.
                 created_at = CASE WHEN m.deleted_at IS NULL AND (m.expires_at IS NULL OR m.expires_at > now())
                                   THEN m.created_at ELSE EXCLUDED.created_at END,
                 deleted_at = NULL, metadata = '{}'::jsonb`,
          [
            this.ctx.tenant,
            id,
            item.type,
            item.namespace,
            item.key,
            JSON.stringify(item.value),
            item.ttlMs ?? null,
            embedding,
            embedding ? this.ctx.embedder.model : null,
            embedding ? embedding.length : null,
            this.ctx.version(),
            provider,
          ],
        );
      },
      { single: true, ids: { id } },
    );
  }

  async get(namespaceIn: string[], keyIn: string): Promise<Item | null> {
    const ns = parseInput(namespace, namespaceIn, 'namespace');
    const key = parseInput(segment, keyIn, 'key');
    return this.ctx.read(
      'item.get',
      async (tx) => {
        const { rows } = await tx.query(
          `SELECT ${COLUMNS} FROM ${byKey(this.ctx.table('memories'), 'tenant_id = $1 AND id = $2')} m
            WHERE deleted_at IS NULL AND (expires_at IS NULL OR expires_at > now())`,
          [this.ctx.tenant, Items.idOf(ns, key)],
        );
        return rows[0] ? toItem(rows[0]) : null;
      },
      { single: true },
    );
  }

  /** Delete the item (a tombstone that replicates, its value erased); false when there was none. */
  async delete(namespaceIn: string[], keyIn: string): Promise<boolean> {
    const ns = parseInput(namespace, namespaceIn, 'namespace');
    const key = parseInput(segment, keyIn, 'key');
    return this.ctx.deleteRow('item.delete', 'memories', { id: Items.idOf(ns, key) });
  }

  /**
   * Items under a namespace prefix, filtered by value containment; with
   * `query`, the most similar first (exact cosine over the prefix: keyed
   * memories are a tenant's facts, not a corpus), else the latest updated first.
   */
  async search(input: ItemSearch = {}): Promise<Item[]> {
    const s = parseInput(searchInput, input, 'item search');
    const vector = s.query === undefined ? undefined : (await this.ctx.embed([s.query]))[0];
    return this.ctx.read(
      'item.search',
      async (tx, { provider }) => {
        const params: unknown[] = [this.ctx.tenant];
        const where = liveItemsUnder(s.namespacePrefix, params, false);
        if (s.filter) where.push(...filterConditions(s.filter, params));
        let score = 'NULL::double precision';
        if (vector) {
          const dim = vector.length;
          const pgvector = await this.pgvector.has(tx, provider);
          params.push(pgvector ? `[${vector.join(',')}]` : vector, dim);
          const distance = pgvector
            ? `embedding::vector(${dim}) <=> $${params.length - 1}::vector(${dim})`
            : `${this.ctx.schema}.cosine_distance(embedding, $${params.length - 1}::real[])`;
          score = `CASE WHEN embedding_dim = $${params.length} THEN 1 - (${distance}) END`;
        }
        params.push(s.limit, s.offset);
        const { rows } = await tx.query(
          `SELECT ${COLUMNS}, ${score} AS score FROM ${this.ctx.table('memories')}
            WHERE ${where.join(' AND ')}
            ORDER BY score DESC NULLS LAST, coalesce(updated_at, created_at) DESC, id
            LIMIT $${params.length - 1} OFFSET $${params.length}`,
          params,
        );
        return rows.map(toItem);
      },
      // With a query, the first search on a provider also reads whether it has pgvector: two statements.
      { single: vector === undefined },
    );
  }

  /** The namespaces that hold items, matching a prefix and a suffix (`*` matches any label), cut at `maxDepth`. */
  async namespaces(input: NamespaceQuery = {}): Promise<string[][]> {
    const q = parseInput(namespacesInput, input, 'namespace query');
    return this.ctx.read(
      'item.namespaces',
      async (tx) => {
        const params: unknown[] = [this.ctx.tenant];
        const where = liveItemsUnder(q.prefix, params, true);
        const suffix = q.suffix ?? [];
        if (suffix.length) {
          where.push(`cardinality(namespace) >= ${suffix.length}`);
          where.push(...pathConditions(suffix, params, (i) => `namespace[cardinality(namespace) - ${suffix.length - 1 - i}]`));
        }
        const path = q.maxDepth ? `namespace[1:${q.maxDepth}]` : 'namespace';
        params.push(q.limit, q.offset);
        const { rows } = await tx.query<{ path: string[] }>(
          `SELECT DISTINCT ${path} AS path FROM ${this.ctx.table('memories')} WHERE ${where.join(' AND ')}
            ORDER BY 1 LIMIT $${params.length - 1} OFFSET $${params.length}`,
          params,
        );
        return rows.map((r) => r.path);
      },
      { single: true },
    );
  }
}
