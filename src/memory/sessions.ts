import { z } from 'zod';
import { MESSAGE_TYPES } from '../core/enums.js';
import { newId } from '../core/ids.js';
import { fromRow, type View, viewColumns } from '../core/tables.js';
import { NotFoundError, ValidationError } from '../errors/index.js';
import type { Queryable } from '../providers/index.js';
import type { StoreContext } from './context.js';
import { type ContextWindowOptions, selectContextWindow, toLangChain, toOpenAI } from './message-formats.js';
import { checkJson, checkSize, cleanText, identifier, jsonObject, parseInput, timestamp, uuid } from './validation.js';

export const MESSAGE_ROLES = ['user', 'assistant', 'system'] as const;
export type MessageRole = (typeof MESSAGE_ROLES)[number];
const roleToType = (role: MessageRole) => `message_${role}` as const;

export interface Session {
  id: string;
  agentId: string | null;
  userId: string | null;
  title: string | null;
  metadata: Record<string, unknown>;
  startedAt: Date;
  endedAt: Date | null;
}

export interface Message {
  id: string;
  sessionId: string;
  role: MessageRole;
  content: string;
  metadata: Record<string, unknown>;
  createdAt: Date;
  /**
   * Index in the session's transcript, from 0: the rank of the message in the
   * order every provider agrees on (see `Sessions`). A message acknowledged
   * before a failover but replicated after it takes its place in that order,
   * so the indexes of later messages can grow by one when it arrives.
   */
  seq: number;
}

const sessionInput = z
  .object({
    id: uuid.optional(),
    agentId: identifier.optional(),
    userId: identifier.optional(),
    title: cleanText(1000).optional(),
    metadata: jsonObject.optional(),
    startedAt: timestamp.optional(),
    endedAt: timestamp.nullable().optional(),
  })
  .strict();
export type SessionInput = z.input<typeof sessionInput>;

const messageInput = z
  .object({
    id: uuid.optional(),
    role: z.enum(MESSAGE_ROLES),
    content: z.string(),
    metadata: jsonObject.optional(),
    createdAt: timestamp.optional(),
  })
  .strict();
export type MessageInput = z.input<typeof messageInput>;

/** What save() takes, checked before anything else looks inside it. */
const saveInput = z.object({ session: z.record(z.string(), z.unknown()), messages: z.array(z.unknown()).max(100_000) }).strict();

/** The transcript formats export() writes. */
export const EXPORT_FORMATS = ['openai', 'langchain', 'agentmem'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

const listFilter = z
  .object({
    agentId: identifier.optional(),
    userId: identifier.optional(),
    since: timestamp.optional(),
    until: timestamp.optional(),
    active: z.boolean().optional(),
    limit: z.number().int().min(1).max(10_000).default(50),
  })
  .strict();
export type SessionFilter = z.input<typeof listFilter>;

const messagesFilter = z
  .object({
    limit: z.number().int().min(1).max(100_000).optional(),
    before: timestamp.optional(),
    role: z.enum(MESSAGE_ROLES).optional(),
    /** The transcript as it was at this time (from the change history). */
    asOf: timestamp.optional(),
  })
  .strict();
export type MessagesFilter = z.input<typeof messagesFilter>;

/** How the memory API reads a session and a message (the registry's types convert each value). */
const SESSION_VIEW: View = {
  table: 'sessions',
  fields: {
    id: 'id',
    agentId: 'agent_id',
    userId: 'user_id',
    title: 'title',
    metadata: 'metadata',
    startedAt: 'started_at',
    endedAt: 'ended_at',
  },
  absent: 'null',
  defaults: { metadata: {} },
};
const MESSAGE_VIEW: View = {
  table: 'memories',
  fields: {
    id: 'id',
    sessionId: 'session_id',
    memoryType: 'memory_type',
    content: 'content',
    metadata: 'metadata',
    createdAt: 'created_at',
  },
  absent: 'null',
  defaults: { metadata: {} },
};
const SESSION_COLUMNS = viewColumns(SESSION_VIEW);
const MESSAGE_COLUMNS = viewColumns(MESSAGE_VIEW);
const MESSAGE_TYPE_LIST = MESSAGE_TYPES.map((t) => `'${t}'`).join(', ');

function toSession(row: Record<string, unknown>): Session {
  return fromRow(SESSION_VIEW, row) as unknown as Session;
}

function toMessage(row: Record<string, unknown>): Message {
  const { memoryType, ...message } = fromRow(MESSAGE_VIEW, row);
  return {
    ...(message as Omit<Message, 'role' | 'seq'>),
    role: String(memoryType).replace('message_', '') as MessageRole,
    seq: Number(row.seq),
  };
}

/**
 * Sessions and their messages. Messages are rows of `memories` with a
 * message_* type, a session id and a position. Every write is idempotent on the
 * client-generated ids: re-saving a session inserts only the messages the
 * database does not have yet, so a transcript is never duplicated.
 *
 * Order: a message's position is the writer's hybrid-logical-clock value at the
 * append, raised above the session's last position on the provider that took
 * it. A transcript is ordered by (position, id) — a total order that every
 * provider agrees on once replicated, and that follows acknowledgement order
 * across failover (a later write has a later clock). `seq` is the rank in it.
 */
export class Sessions {
  constructor(private readonly ctx: StoreContext) {}

  private checkMessage(input: MessageInput, index?: number) {
    const where = index === undefined ? 'message' : `messages[${index}]`;
    const message = parseInput(messageInput, input, where);
    checkJson(message.content, `${where}.content`);
    checkJson(message.metadata ?? {}, `${where}.metadata`);
    checkSize(message.content, `${where}.content`, this.ctx.limits.maxContentBytes);
    checkSize(message.metadata ?? {}, `${where}.metadata`, this.ctx.limits.maxContentBytes);
    return message;
  }

  private checkSession(input: SessionInput) {
    const session = parseInput(sessionInput, input, 'session');
    checkJson(session.metadata ?? {}, 'session.metadata');
    checkSize(session.metadata ?? {}, 'session.metadata', this.ctx.limits.maxContentBytes);
    return session;
  }

  async create(input: SessionInput = {}): Promise<Session> {
    const session = this.checkSession(input);
    const id = session.id ?? newId();
    return this.ctx.write(
      'session.create',
      async (tx, { provider }) => {
        await this.upsertSession(tx, provider, id, session);
        return this.requireSession(tx, id);
      },
      { ids: { sessionId: id } },
    );
  }

  /** The session, or with `asOf` the session as it was then (from the change history). */
  async get(id: string, options: { asOf?: Date | string } = {}): Promise<Session | null> {
    const sessionId = parseInput(uuid, id, 'session id');
    const asOf = options.asOf === undefined ? undefined : parseInput(timestamp, options.asOf, 'as-of time');
    return this.ctx.read('session.get', (tx) => this.findSession(tx, sessionId, asOf), { single: true });
  }

  async list(filter: SessionFilter = {}): Promise<Session[]> {
    const f = parseInput(listFilter, filter, 'session filter');
    return this.ctx.read(
      'session.list',
      async (tx) => {
        const { rows } = await tx.query(
          `SELECT ${SESSION_COLUMNS} FROM ${this.ctx.table('sessions')}
          WHERE tenant_id = $1 AND deleted_at IS NULL
            AND ($2::text IS NULL OR agent_id = $2)
            AND ($3::text IS NULL OR user_id = $3)
            AND ($4::timestamptz IS NULL OR started_at >= $4)
            AND ($5::timestamptz IS NULL OR started_at < $5)
            AND ($6::boolean IS NULL OR (ended_at IS NULL) = $6)
          ORDER BY started_at DESC, id DESC
          LIMIT $7`,
          [this.ctx.tenant, f.agentId ?? null, f.userId ?? null, f.since ?? null, f.until ?? null, f.active ?? null, f.limit],
        );
        return rows.map(toSession);
      },
      { single: true },
    );
  }

  async end(id: string, at: Date = new Date()): Promise<Session> {
    const sessionId = parseInput(uuid, id, 'session id');
    return this.ctx.write('session.end', async (tx, { provider }) => {
      await tx.query(
        `UPDATE ${this.ctx.table('sessions')} SET ended_at = $3, version = $4, origin = $5
          WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL AND ended_at IS NULL`,
        [this.ctx.tenant, sessionId, at, this.ctx.version(), provider],
      );
      return this.requireSession(tx, sessionId);
    });
  }

  /** Tombstone the session and every memory in it (the tombstones replicate). */
  async delete(id: string): Promise<boolean> {
    const sessionId = parseInput(uuid, id, 'session id');
    return this.ctx.write('session.delete', async (tx, { provider }) => {
      const version = this.ctx.version();
      const { rowCount } = await tx.query(
        `UPDATE ${this.ctx.table('sessions')} SET deleted_at = now(), version = $3, origin = $4
          WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL`,
        [this.ctx.tenant, sessionId, version, provider],
      );
      await tx.query(
        `UPDATE ${this.ctx.table('memories')}
            SET deleted_at = now(), content = 'null'::jsonb, metadata = '{}'::jsonb, embedding = NULL, version = $3, origin = $4
          WHERE tenant_id = $1 AND session_id = $2 AND deleted_at IS NULL`,
        [this.ctx.tenant, sessionId, version, provider],
      );
      return rowCount > 0;
    });
  }

  /** Append one message. Retrying with the same `id` returns the stored message, never a second copy. */
  async addMessage(sessionId: string, input: MessageInput): Promise<Message> {
    const id = parseInput(uuid, sessionId, 'session id');
    const message = this.checkMessage(input);
    const messageId = message.id ?? newId();
    // One statement (append_message, migration 0003): lock the session row, insert the
    // message after the session's last position, or return the stored message for this id.
    return this.ctx.write(
      'session.addMessage',
      async (tx, { provider }) => {
        const { rows } = await tx.query(`SELECT * FROM ${this.ctx.schema}.append_message($1, $2, $3, $4, $5, $6, $7, $8, $9)`, [
          this.ctx.tenant,
          id,
          messageId,
          roleToType(message.role),
          JSON.stringify(message.content),
          JSON.stringify(message.metadata ?? {}),
          message.createdAt ?? new Date(),
          this.ctx.version(),
          provider,
        ]);
        // Thrown inside the operation, so the router knows the write did not happen here.
        if (!rows[0]) throw new NotFoundError(`no session ${id}`, { sessionId: id });
        return toMessage(rows[0]);
      },
      { single: true, ids: { sessionId: id, messageId } },
    );
  }

  /**
   * Append several messages in one transaction (under the session's lock, one
   * INSERT for all of them), in the order given. Ids are assigned here, so a
   * retry after an unknown outcome can send the same batch: messages the session
   * already has (same id) are left as they are, nothing is written twice.
   */
  async addMessages(sessionId: string, inputs: MessageInput[]): Promise<{ inserted: number; existing: number }> {
    const id = parseInput(uuid, sessionId, 'session id');
    if (!Array.isArray(inputs)) throw new ValidationError('invalid messages: expected an array of messages', { got: typeof inputs });
    const messages = inputs.map((m, i) => {
      const message = this.checkMessage(m, i);
      return { ...message, id: message.id ?? newId() };
    });
    return this.ctx.write(
      'session.addMessages',
      async (tx, { provider }) => {
        await this.lockSession(tx, id);
        const inserted = await this.insertMessages(tx, provider, id, messages);
        return { inserted, existing: messages.length - inserted };
      },
      { ids: { sessionId: id } },
    );
  }

  async getMessages(sessionId: string, filter: MessagesFilter = {}): Promise<Message[]> {
    const id = parseInput(uuid, sessionId, 'session id');
    const f = parseInput(messagesFilter, filter, 'message filter');
    return this.ctx.read(
      'session.getMessages',
      async (tx) => {
        // Rank every live message in the agreed order, then take the newest `limit`
        // that match the filters, returned oldest first.
        const params: unknown[] = [this.ctx.tenant, id, f.role ? roleToType(f.role) : null, f.before ?? null, f.limit ?? null];
        const from = this.ctx.from('memories', params, f.asOf, { column: 'session_id', value: id });
        const { rows } = await tx.query(
          `SELECT * FROM (
             SELECT * FROM (
               SELECT ${MESSAGE_COLUMNS}, row_number() OVER (ORDER BY position, id) - 1 AS seq
                 FROM ${from}
                WHERE tenant_id = $1 AND session_id = $2 AND deleted_at IS NULL AND memory_type IN (${MESSAGE_TYPE_LIST})
             ) ranked
             WHERE ($3::text IS NULL OR memory_type = $3) AND ($4::timestamptz IS NULL OR created_at < $4)
             ORDER BY seq DESC
             LIMIT $5
           ) newest ORDER BY seq`,
          params,
        );
        return rows.map(toMessage);
      },
      { single: true },
    );
  }

  /**
   * Save a whole session: its row and its transcript, in one transaction on one
   * provider. Messages the database already has (same id) are left as they are;
   * new ones are appended in the order given.
   */
  async save(snapshot: {
    session: SessionInput & { id: string };
    messages: MessageInput[];
  }): Promise<{ session: Session; inserted: number; existing: number }> {
    const shape = parseInput(saveInput, snapshot, 'session snapshot');
    const session = this.checkSession(shape.session as SessionInput);
    if (!session.id) throw new ValidationError('invalid session: id is required to save a session (create() assigns one)');
    const messages = shape.messages.map((m, i) => this.checkMessage(m as MessageInput, i));
    const sessionId = session.id;
    return this.ctx.write('session.save', async (tx, { provider }) => {
      await this.upsertSession(tx, provider, sessionId, session);
      await this.lockSession(tx, sessionId);
      const inserted = await this.insertMessages(tx, provider, sessionId, messages);
      return { session: await this.requireSession(tx, sessionId), inserted, existing: messages.length - inserted };
    });
  }

  /** The session and its whole transcript, exactly as stored. */
  async load(id: string, options: { asOf?: Date | string } = {}): Promise<{ session: Session; messages: Message[] } | null> {
    const session = await this.get(id, options);
    if (!session) return null;
    return { session, messages: await this.getMessages(id, options.asOf === undefined ? {} : { asOf: options.asOf }) };
  }

  /** System messages plus the newest turns that fit in `maxTokens`. */
  async contextWindow(sessionId: string, maxTokens: number, options: ContextWindowOptions = {}): Promise<Message[]> {
    return selectContextWindow(await this.getMessages(sessionId), maxTokens, options);
  }

  async export(sessionId: string, format: ExportFormat = 'agentmem', options: { asOf?: Date | string } = {}) {
    parseInput(z.enum(EXPORT_FORMATS), format, 'export format');
    const loaded = await this.load(sessionId, options);
    if (!loaded) throw new NotFoundError(`no session ${sessionId}`, { sessionId });
    if (format === 'openai') return toOpenAI(loaded.messages);
    if (format === 'langchain') return toLangChain(loaded.messages);
    return loaded;
  }

  private async upsertSession(tx: Queryable, provider: string, id: string, s: ReturnType<Sessions['checkSession']>): Promise<void> {
    // Fields left out keep their stored value; a re-save that changes nothing
    // leaves the row (and its version) alone.
    await tx.query(
      `INSERT INTO ${this.ctx.table('sessions')} AS s
         (tenant_id, id, agent_id, user_id, title, metadata, started_at, ended_at, version, origin)
       VALUES ($1, $2, $3, $4, $5, coalesce($6::jsonb, '{}'::jsonb), $7, $8, $9, $10)
       ON CONFLICT (tenant_id, id) DO UPDATE
         SET agent_id = coalesce($3, s.agent_id), user_id = coalesce($4, s.user_id), title = coalesce($5, s.title),
             metadata = coalesce($6::jsonb, s.metadata), ended_at = coalesce($8, s.ended_at),
             version = EXCLUDED.version, origin = EXCLUDED.origin
         WHERE s.deleted_at IS NULL
           AND (s.agent_id, s.user_id, s.title, s.metadata, s.ended_at) IS DISTINCT FROM
               (coalesce($3, s.agent_id), coalesce($4, s.user_id), coalesce($5, s.title), coalesce($6::jsonb, s.metadata), coalesce($8, s.ended_at))`,
      [
        this.ctx.tenant,
        id,
        s.agentId ?? null,
        s.userId ?? null,
        s.title ?? null,
        s.metadata === undefined ? null : JSON.stringify(s.metadata),
        s.startedAt ?? new Date(),
        s.endedAt ?? null,
        this.ctx.version(),
        provider,
      ],
    );
  }

  /**
   * Insert the messages the session does not have yet, in the order given, after
   * the session's last position (the caller holds the session's row lock); returns how many.
   */
  private async insertMessages(
    tx: Queryable,
    provider: string,
    sessionId: string,
    messages: ReturnType<Sessions['checkMessage']>[],
  ): Promise<number> {
    if (!messages.length) return 0;
    const version = this.ctx.version();
    const { rows: lastRows } = await tx.query<{ next: string }>(
      `SELECT greatest($3::bigint, coalesce(max(position) + 1, 0))::text AS next FROM ${this.ctx.table('memories')}
        WHERE tenant_id = $1 AND session_id = $2`,
      [this.ctx.tenant, sessionId, version],
    );
    let next = BigInt(lastRows[0]?.next ?? version);
    const ids = messages.map((m) => m.id ?? newId());
    const { rows: existingRows } = await tx.query<{ id: string }>(
      `SELECT id FROM ${this.ctx.table('memories')} WHERE tenant_id = $1 AND id = ANY($2::uuid[])`,
      [this.ctx.tenant, ids],
    );
    const existing = new Set(existingRows.map((r) => r.id));
    const now = Date.now();
    const records = messages.flatMap((m, i) => {
      const id = ids[i] as string;
      if (existing.has(id)) return [];
      existing.add(id); // the same id twice in one batch is one message
      return [
        {
          id,
          memory_type: roleToType(m.role),
          // A string in JSON: a clock value does not survive a JS number.
          position: (next++).toString(),
          content: m.content,
          metadata: m.metadata ?? {},
          created_at: (m.createdAt ?? new Date(now)).toISOString(),
        },
      ];
    });
    if (!records.length) return 0;
    const { rowCount } = await tx.query(
      `INSERT INTO ${this.ctx.table('memories')}
           (tenant_id, id, session_id, user_id, memory_type, position, content, metadata, created_at, version, origin)
         SELECT $1, r.id, $2, s.user_id, r.memory_type, r.position, r.content, r.metadata, r.created_at, $4, $5
           FROM jsonb_to_recordset($3::jsonb) AS r(id uuid, memory_type text, position bigint, content jsonb, metadata jsonb, created_at timestamptz)
           LEFT JOIN ${this.ctx.table('sessions')} s ON s.tenant_id = $1 AND s.id = $2
         ON CONFLICT (tenant_id, id) DO NOTHING`,
      [this.ctx.tenant, sessionId, JSON.stringify(records), version, provider],
    );
    return rowCount;
  }

  /** Serialise writers of one session (positions are assigned under this lock). */
  private async lockSession(tx: Queryable, id: string): Promise<void> {
    const { rows } = await tx.query(
      `SELECT 1 FROM ${this.ctx.table('sessions')} WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE`,
      [this.ctx.tenant, id],
    );
    if (!rows.length) throw new NotFoundError(`no session ${id}`, { sessionId: id });
  }

  private async findSession(tx: Queryable, id: string, asOf?: Date): Promise<Session | null> {
    const params: unknown[] = [this.ctx.tenant, id];
    const from = this.ctx.from('sessions', params, asOf, { column: 'id', value: id });
    const { rows } = await tx.query(
      `SELECT ${SESSION_COLUMNS} FROM ${from} WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL`,
      params,
    );
    return rows[0] ? toSession(rows[0]) : null;
  }

  private async requireSession(tx: Queryable, id: string): Promise<Session> {
    const session = await this.findSession(tx, id);
    if (!session) throw new NotFoundError(`no session ${id}`, { sessionId: id });
    return session;
  }
}
