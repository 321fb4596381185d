import { z } from 'zod';
import { MESSAGE_TYPES } from '../core/enums.js';
import { idForKey, newId } from '../core/ids.js';
import { fromRow, tombstoneSet, type View, viewColumns } from '../core/tables.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors/index.js';
import type { Queryable, QueryOptions } from '../providers/index.js';
import type { StoreContext } from './context.js';
import { type ContextWindowOptions, selectContextWindow } from './context-window.js';
import { exportTranscript, importTranscript, TRANSCRIPT_FORMATS, type TranscriptFormat } from './formats/index.js';
import {
  type CheckedMessage,
  checkMessage,
  MESSAGE_ROLES,
  MESSAGE_VIEW,
  type Message,
  type MessageInput,
  type MessageJson,
  messageColumns,
  roleToType,
  sentMessage,
  sessionIdFor,
  toMessage,
} from './message-model.js';
import { checkJson, checkSize, cleanText, identifier, jsonObject, parseInput, parseUuid, timestamp, uuid } from './validation.js';

export interface Session {
  id: string;
  agentId: string | null;
  userId: string | null;
  title: string | null;
  metadata: Record<string, unknown>;
  startedAt: Date;
  endedAt: Date | null;
  /** The framework's own id of the session (a thread id), unique in the tenant; the id derives from it. */
  externalId: string | null;
}

export const sessionInput = z
  .object({
    id: uuid.optional(),
    agentId: identifier.optional(),
    userId: identifier.optional(),
    title: cleanText(1000).optional(),
    metadata: jsonObject.optional(),
    startedAt: timestamp.optional(),
    endedAt: timestamp.nullable().optional(),
    externalId: cleanText(1000).pipe(z.string().min(1, 'must not be empty')).optional(),
  })
  .strict();
export type SessionInput = z.input<typeof sessionInput>;

/** What save() takes, checked before anything else looks inside it. */
const saveInput = z.object({ session: z.record(z.string(), z.unknown()), messages: z.array(z.unknown()).max(100_000) }).strict();

/** The transcript formats export() writes and importTranscript() reads. */
export const EXPORT_FORMATS = [...TRANSCRIPT_FORMATS, 'agentmem'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const sessionFilter = z
  .object({
    agentId: identifier.optional(),
    userId: identifier.optional(),
    since: timestamp.optional(),
    until: timestamp.optional(),
    active: z.boolean().optional(),
    limit: z.number().int().min(1).max(10_000).default(50),
  })
  .strict();
export type SessionFilter = z.input<typeof sessionFilter>;

export const messagesFilter = z
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
    externalId: 'external_id',
  },
  absent: 'null',
  defaults: { metadata: {} },
};
const SESSION_COLUMNS = viewColumns(SESSION_VIEW);
const MESSAGE_COLUMNS = viewColumns(MESSAGE_VIEW);
/** A message without an id of its own, imported into a session: its id is its place, so a re-import is the same message. */
const placeId = (sessionId: string, index: number) => idForKey('', 'imported-message', `${sessionId}\u0000${index}`);

/** An exported session as create()/save() input: the fields only the database sets left out. */
function stripSessionOutput(session: Record<string, unknown>): SessionInput & { id: string } {
  const { id, agentId, userId, title, metadata, startedAt, endedAt, externalId } = session;
  const out: Record<string, unknown> = { id };
  for (const [key, value] of Object.entries({ agentId, userId, title, metadata, startedAt, endedAt, externalId }))
    if (value !== null && value !== undefined) out[key] = value;
  return out as SessionInput & { id: string };
}

/** An exported message as input: its index and session are the database's. */
function stripMessageOutput(message: unknown): unknown {
  if (typeof message !== 'object' || message === null) return message;
  const { seq: _seq, sessionId: _session, ...input } = message as Record<string, unknown>;
  return input;
}

const MESSAGE_TYPE_LIST = MESSAGE_TYPES.map((t) => `'${t}'`).join(', ');

function toSession(row: Record<string, unknown>): Session {
  return fromRow(SESSION_VIEW, row) as unknown as Session;
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
  /** addMessage's statements (see appendMessageSql): built once, since they are long and sent on every call. */
  private readonly appendSql: { plain: string; call: string };

  constructor(private readonly ctx: StoreContext) {
    this.appendSql = appendMessageSql(ctx.schema);
  }

  private checkMessage(sessionId: string, input: unknown, index?: number, json?: MessageJson): CheckedMessage {
    const where = index === undefined ? 'message' : `messages[${index}]`;
    return checkMessage(input, where, { sessionId, maxBytes: this.ctx.limits.maxContentBytes, newId }, json);
  }

  private checkSession(input: SessionInput) {
    const session = parseInput(sessionInput, input, 'session');
    checkJson(session.metadata ?? {}, 'session.metadata');
    checkSize(session.metadata ?? {}, 'session.metadata', this.ctx.limits.maxContentBytes);
    if (session.externalId !== undefined) {
      const derived = sessionIdFor(session.externalId);
      if (session.id !== undefined && session.id !== derived)
        throw new ValidationError('invalid session: id and externalId name different sessions (give one of them)', { field: 'session.id' });
      return { ...session, id: derived };
    }
    return session;
  }

  /** The id of the session a framework calls `externalId` (a thread id): the same on every provider. */
  idFor(externalId: string): string {
    return sessionIdFor(parseInput(cleanText(1000).pipe(z.string().min(1)), externalId, 'external id'));
  }

  /**
   * Create a session (or return it, unchanged fields kept, when the id exists).
   * A deleted session's id is refused with CONFLICT: `restore()` brings it back.
   */
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

  /** Bring a deleted session back (its messages stay erased); a live session comes back as it is. */
  async restore(id: string): Promise<Session> {
    const sessionId = parseUuid(id, 'session id');
    return this.ctx.write('session.restore', async (tx, { provider }) => {
      await tx.query(
        `UPDATE ${this.ctx.table('sessions')} SET deleted_at = NULL, version = $3, origin = $4
          WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NOT NULL`,
        [this.ctx.tenant, sessionId, this.ctx.version(), provider],
      );
      return this.requireSession(tx, sessionId);
    });
  }

  /** The session, or with `asOf` the session as it was then (from the change history). */
  async get(id: string, options: { asOf?: Date | string } = {}): Promise<Session | null> {
    const sessionId = parseUuid(id, 'session id');
    const asOf = options.asOf === undefined ? undefined : parseInput(timestamp, options.asOf, 'as-of time');
    return this.ctx.read('session.get', (tx) => this.findSession(tx, sessionId, asOf), { single: true });
  }

  async list(filter: SessionFilter = {}): Promise<Session[]> {
    const f = parseInput(sessionFilter, filter, 'session filter');
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
    const sessionId = parseUuid(id, 'session id');
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
    const sessionId = parseUuid(id, 'session id');
    return this.ctx.write('session.delete', async (tx, { provider }) => {
      const version = this.ctx.version();
      const { rowCount } = await tx.query(
        `UPDATE ${this.ctx.table('sessions')} SET ${tombstoneSet('sessions', '$3', '$4')}
          WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL`,
        [this.ctx.tenant, sessionId, version, provider],
      );
      await this.eraseMemories(tx, sessionId, version, provider);
      return rowCount > 0;
    });
  }

  /**
   * Remove every message of a session and keep the session: tombstones (the
   * content erased) that replicate, so no provider brings the messages back.
   * Returns how many messages were removed.
   */
  async clearMessages(id: string): Promise<number> {
    const sessionId = parseUuid(id, 'session id');
    return this.ctx.write('session.clearMessages', async (tx, { provider }) => {
      await this.lockSession(tx, sessionId);
      return this.eraseMemories(tx, sessionId, this.ctx.version(), provider, true);
    });
  }

  /** Tombstone a session's memories (only its messages with `messagesOnly`), erasing their content. */
  private async eraseMemories(tx: Queryable, sessionId: string, version: string, provider: string, messagesOnly = false): Promise<number> {
    const { rowCount } = await tx.query(
      `UPDATE ${this.ctx.table('memories')}
          SET ${tombstoneSet('memories', '$3', '$4')}
        WHERE tenant_id = $1 AND session_id = $2 AND deleted_at IS NULL
          ${messagesOnly ? `AND memory_type IN (${MESSAGE_TYPE_LIST})` : ''}`,
      [this.ctx.tenant, sessionId, version, provider],
    );
    return rowCount;
  }

  /** Append one message. Retrying with the same `id` returns the stored message, never a second copy. */
  async addMessage(sessionId: string, input: MessageInput): Promise<Message> {
    const id = parseUuid(sessionId, 'session id');
    // The fields' JSON as the size check made it, sent as is.
    const json: MessageJson = {};
    const message = this.checkMessage(id, input, undefined, json);
    const messageId = message.id;
    const own = messageColumns(message);
    const createdAt = message.createdAt ?? new Date();
    // An ISO string: the same instant as the Date, without pg's local-time formatting of it on every call
    // (years outside 1–9999, which ISO writes as ±YYYYYY and PostgreSQL reads as BC/AD, go as the Date).
    const year = createdAt.getUTCFullYear();
    const createdAtText = year >= 1 && year <= 9999 ? createdAt.toISOString() : createdAt;
    const params = (provider: string) => [
      this.ctx.tenant,
      id,
      messageId,
      roleToType(message.role),
      json.content,
      json.metadata ?? '{}',
      createdAtText,
      this.ctx.version(),
      provider,
      own.name,
      own.tool_calls === null ? null : json.toolCalls,
      own.tool_call_id,
      own.external_id,
      own.extra === null ? null : json.extra,
    ];
    const ids = { sessionId: id, messageId };
    const append = (sql: string, options?: QueryOptions) =>
      this.ctx.write(
        'session.addMessage',
        async (tx, { provider }) => {
          const { rows } = await tx.query<AppendAnswer>(sql, params(provider), options);
          const answer = rows[0];
          // Thrown inside the operation, so the router knows the write did not happen here.
          if (!answer) throw new NotFoundError(`no session ${id}`, { sessionId: id });
          if (answer.taken) return undefined;
          // A retry answers with the message stored before; a new message is the one sent.
          return answer.stored ? toMessage({ ...answer.stored, seq: answer.seq }) : sentMessage(message, own, id, createdAt, answer.seq);
        },
        { single: true, ids },
      );
    // The common case as one plain statement, prepared once per connection (see appendMessageSql);
    // where nothing is prepared, the call of add_message() instead.
    const added = await append(this.appendSql.plain, { prepare: true, unprepared: this.appendSql.call });
    // The plain statement found the id taken and wrote nothing: a retry of a stored append, a
    // removed message appended again, or an id of another session. add_message() decides, under
    // the session's lock.
    return added ?? ((await append(this.appendSql.call)) as Message); // (add_message() never answers `taken`)
  }

  /**
   * Append several messages in one statement (append_messages: under the
   * session's lock, one INSERT for all of them), in the order given. Ids are
   * assigned here, so a retry after an unknown outcome can send the same batch:
   * messages the session already has (same id) are left as they are, nothing is
   * written twice.
   */
  async addMessages(sessionId: string, inputs: MessageInput[]): Promise<{ inserted: number; existing: number }> {
    const id = parseUuid(sessionId, 'session id');
    if (!Array.isArray(inputs)) throw new ValidationError('invalid messages: expected an array of messages', { got: typeof inputs });
    const messages = inputs.map((m, i) => this.checkMessage(id, m, i));
    return this.ctx.write(
      'session.addMessages',
      async (tx, { provider }) => {
        const inserted = await this.appendMessages(tx, provider, id, messages);
        return { inserted, existing: messages.length - inserted };
      },
      { single: true, ids: { sessionId: id } },
    );
  }

  async getMessages(sessionId: string, filter: MessagesFilter = {}): Promise<Message[]> {
    const id = parseUuid(sessionId, 'session id');
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
    if (!session.id)
      throw new ValidationError('invalid session: an id or an externalId is required to save a session (create() assigns one)');
    const sessionId = session.id;
    const messages = shape.messages.map((m, i) => this.checkMessage(sessionId, m, i));
    return this.ctx.write('session.save', async (tx, { provider }) => {
      await this.upsertSession(tx, provider, sessionId, session);
      const inserted = await this.appendMessages(tx, provider, sessionId, messages);
      return { session: await this.requireSession(tx, sessionId), inserted, existing: messages.length - inserted };
    });
  }

  /** The session and its whole transcript, exactly as stored. */
  async load(id: string, options: { asOf?: Date | string } = {}): Promise<{ session: Session; messages: Message[] } | null> {
    const session = await this.get(id, options);
    if (!session) return null;
    return { session, messages: await this.getMessages(id, options.asOf === undefined ? {} : { asOf: options.asOf }) };
  }

  /**
   * System and developer messages plus the newest turns that fit in
   * `maxTokens`; an assistant's tool calls and their results are kept or
   * dropped together, and a result whose call is gone is left out.
   */
  async contextWindow(sessionId: string, maxTokens: number, options: ContextWindowOptions = {}): Promise<Message[]> {
    return selectContextWindow(await this.getMessages(sessionId), maxTokens, options);
  }

  async export(sessionId: string, format: ExportFormat = 'agentmem', options: { asOf?: Date | string } = {}) {
    parseInput(z.enum(EXPORT_FORMATS), format, 'export format');
    const loaded = await this.load(sessionId, options);
    if (!loaded) throw new NotFoundError(`no session ${sessionId}`, { sessionId });
    return format === 'agentmem' ? loaded : exportTranscript(format, loaded.messages);
  }

  /**
   * Bring a transcript in (OpenAI, Anthropic or LangChain form, or agentmem's
   * own export) as a session: created when missing, messages appended in order.
   * Idempotent: importing the same transcript again adds nothing (messages with
   * ids or external ids keep them; others get ids derived from the session and
   * their place in the transcript).
   */
  async importTranscript(
    format: ExportFormat,
    data: unknown,
    session: SessionInput = {},
  ): Promise<{ session: Session; inserted: number; existing: number }> {
    parseInput(z.enum(EXPORT_FORMATS), format, 'import format');
    if (format === 'agentmem') {
      const snapshot = parseInput(saveInput, data, 'agentmem session export');
      const stored = snapshot.session as SessionInput & { id: string };
      return this.save({
        session: { ...stripSessionOutput(stored), ...session },
        messages: snapshot.messages.map((m) => stripMessageOutput(m) as MessageInput),
      });
    }
    const checked = this.checkSession(session);
    const sessionId = checked.id ?? newId();
    const messages = importTranscript(format as TranscriptFormat, data).map((m, index) =>
      m.id || m.externalId ? m : { ...m, id: placeId(sessionId, index) },
    );
    return this.save({ session: { ...session, id: sessionId }, messages });
  }

  private async upsertSession(tx: Queryable, provider: string, id: string, s: ReturnType<Sessions['checkSession']>): Promise<void> {
    // Fields left out keep their stored value; a re-save that changes nothing
    // leaves the row (and its version) alone. `prior` is the row before this
    // statement: a deleted session is not silently left deleted.
    const { rows } = await tx.query<{ deleted: boolean | null }>(
      `WITH prior AS (SELECT deleted_at FROM ${this.ctx.table('sessions')} WHERE tenant_id = $1 AND id = $2),
       upserted AS (
       INSERT INTO ${this.ctx.table('sessions')} AS s
         (tenant_id, id, agent_id, user_id, title, metadata, started_at, ended_at, external_id, version, origin)
       VALUES ($1, $2, $3, $4, $5, coalesce($6::jsonb, '{}'::jsonb), $7, $8, $11, $9, $10)
       ON CONFLICT (tenant_id, id) DO UPDATE
         SET agent_id = coalesce($3, s.agent_id), user_id = coalesce($4, s.user_id), title = coalesce($5, s.title),
             metadata = coalesce($6::jsonb, s.metadata), ended_at = coalesce($8, s.ended_at), external_id = coalesce($11, s.external_id),
             version = EXCLUDED.version, origin = EXCLUDED.origin
         WHERE s.deleted_at IS NULL
           AND (s.agent_id, s.user_id, s.title, s.metadata, s.ended_at, s.external_id) IS DISTINCT FROM
               (coalesce($3, s.agent_id), coalesce($4, s.user_id), coalesce($5, s.title), coalesce($6::jsonb, s.metadata),
                coalesce($8, s.ended_at), coalesce($11, s.external_id))
       RETURNING 1)
       SELECT (SELECT deleted_at IS NOT NULL FROM prior) AS deleted`,
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
        s.externalId ?? null,
      ],
    );
    if (rows[0]?.deleted)
      throw new ConflictError(`session ${id} was deleted; restore it (sessions.restore, \`agentmem session restore\`) or use a new id`, {
        sessionId: id,
      });
  }

  /**
   * Append messages under the session's lock (append_messages, migration 0016), in the
   * order given, after the session's last position. Ids the tenant already holds (live)
   * are left as they are; the same id twice in one batch is one message (the first).
   * Returns how many were written; NotFoundError when there is no such session.
   */
  private async appendMessages(
    tx: Queryable,
    provider: string,
    sessionId: string,
    messages: ReturnType<Sessions['checkMessage']>[],
  ): Promise<number> {
    const now = Date.now();
    const seen = new Set<string>();
    const records = messages.flatMap((m, n) => {
      if (seen.has(m.id)) return [];
      seen.add(m.id);
      return [
        {
          n,
          id: m.id,
          memory_type: roleToType(m.role),
          content: m.content,
          metadata: m.metadata ?? {},
          created_at: (m.createdAt ?? new Date(now)).toISOString(),
          ...messageColumns(m),
        },
      ];
    });
    const { rows } = await tx.query<{ written: number | null }>(
      `SELECT ${this.ctx.schema}.append_messages($1, $2, $3, $4, $5) AS written`,
      [this.ctx.tenant, sessionId, JSON.stringify(records), this.ctx.version(), provider],
      { prepare: true },
    );
    const written = rows[0]?.written;
    // Thrown inside the operation, so the router knows the write did not happen here.
    if (written === null || written === undefined) throw new NotFoundError(`no session ${sessionId}`, { sessionId });
    return written;
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

/** What addMessage's statements answer: the message's index; the stored message for a retry; `taken` when nothing was written. */
interface AppendAnswer {
  seq: number | string;
  stored: Record<string, unknown> | null;
  taken: boolean;
}

/**
 * addMessage's statements, with add_message()'s parameters (migration 0017).
 * `call` is add_message() itself, which does all of it: locks the session row,
 * inserts after its last position, and when the id is taken brings a removed
 * message back or answers a retry with the stored message. `plain` is its
 * common case as one plain statement, without the function: the session row
 * locked (appends to a session take turns), the message inserted, its index
 * answered (the count before it; the count trigger raises both), and `taken`
 * when the id is taken and nothing was written, for `call` to decide.
 * PL/pgSQL's call and its statements' own executor runs were ~40 µs of
 * add_message()'s ~300 on the server (pg_stat_statements); `plain` is within a
 * few µs of the plain INSERT. It is only worth it prepared: planned on every
 * call (PGlite, a transaction pooler) it is slower than the call.
 */
function appendMessageSql(schema: string): { plain: string; call: string } {
  return {
    plain: `WITH s AS MATERIALIZED (
      SELECT user_id, message_count, greatest($8::bigint, last_position + 1) AS position FROM ${schema}.sessions
       WHERE tenant_id = $1::text AND id = $2::uuid AND deleted_at IS NULL
       FOR UPDATE),
    ins AS (
      INSERT INTO ${schema}.memories
        (tenant_id, id, session_id, user_id, memory_type, position, content, metadata, created_at, version, origin,
         name, tool_calls, tool_call_id, external_id, extra)
      SELECT $1, $3::uuid, $2, s.user_id, $4::text, s.position, $5::jsonb, $6::jsonb, $7::timestamptz, $8, $9::text,
             $10::text, $11::jsonb, $12::text, $13::text, $14::jsonb
        FROM s
      ON CONFLICT ON CONSTRAINT memories_pkey DO NOTHING
      RETURNING 1)
    SELECT s.message_count AS seq, NULL::jsonb AS stored, NOT EXISTS (SELECT FROM ins) AS taken FROM s`,
    call: `SELECT seq, stored, false AS taken
      FROM ${schema}.add_message($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
  };
}
