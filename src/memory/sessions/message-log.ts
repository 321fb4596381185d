import { newId } from '../../core/ids.js';
import { tombstoneSet } from '../../core/tables.js';
import { viewColumns } from '../../core/views.js';
import { NotFoundError, ValidationError } from '../../errors/index.js';
import type { Queryable, QueryOptions } from '../../providers/index.js';
import type { StoreContext } from '../context.js';
import { parseInput, parseUuid } from '../validation.js';
import {
  type CheckedMessage,
  checkMessage,
  MESSAGE_VIEW,
  type Message,
  type MessageInput,
  type MessageJson,
  messageColumns,
  roleToType,
  sentMessage,
  toMessage,
} from './message-model.js';
import { MESSAGE_TYPE_LIST, type MessagesFilter, messagesFilter } from './session-model.js';

const MESSAGE_COLUMNS = viewColumns(MESSAGE_VIEW);

/**
 * A session's messages: rows of `memories` with a message_* type, the
 * session's id and a position. The append engine — one message, a batch, a
 * whole saved transcript — and the transcript read. Every append is
 * idempotent on the client-generated ids: a message the database already has
 * (same id) is never written twice.
 *
 * Order: a message's position is the writer's hybrid-logical-clock value at the
 * append, raised above the session's last position on the provider that took
 * it. A transcript is ordered by (position, id) — a total order that every
 * provider agrees on once replicated, and that follows acknowledgement order
 * across failover (a later write has a later clock). `seq` is the rank in it.
 */
/**
 * Messages per append statement. A transcript longer than this is appended in
 * several statements of one transaction (all or nothing): one statement for
 * 100,000 messages would run past the statement timeout.
 */
const APPEND_CHUNK = 5000;

/** Does an append of `count` messages take one statement (no transaction around it)? */
const appendsInOneStatement = (count: number) => count <= APPEND_CHUNK;

export class MessageLog {
  /** addMessage's statements (see appendMessageSql): built once, since they are long and sent on every call. */
  private readonly appendSql: { plain: string; call: string };

  constructor(private readonly ctx: StoreContext) {
    this.appendSql = appendMessageSql(ctx.schema);
  }

  check(sessionId: string, input: unknown, index?: number, json?: MessageJson): CheckedMessage {
    const where = index === undefined ? 'message' : `messages[${index}]`;
    return checkMessage(input, where, { sessionId, maxBytes: this.ctx.limits.maxContentBytes, newId }, json);
  }

  /** Append one message. Retrying with the same `id` returns the stored message, never a second copy. */
  async addMessage(sessionId: string, input: MessageInput): Promise<Message> {
    const id = parseUuid(sessionId, 'session id');
    // The fields' JSON as the size check made it, sent as is.
    const json: MessageJson = {};
    const message = this.check(id, input, undefined, json);
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
    const stored = added ?? ((await append(this.appendSql.call)) as Message); // (add_message() never answers `taken`)
    if (this.ctx.recall?.mode === 'inline') await this.ctx.embedInline([stored.id]);
    return stored;
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
    const messages = inputs.map((m, i) => this.check(id, m, i));
    const counts = await this.ctx.write(
      'session.addMessages',
      async (tx, { provider }) => {
        const inserted = await this.append(tx, provider, id, messages);
        return { inserted, existing: messages.length - inserted };
      },
      { single: appendsInOneStatement(messages.length), ids: { sessionId: id } },
    );
    if (this.ctx.recall?.mode === 'inline') await this.ctx.embedInline(messages.map((m) => m.id));
    return counts;
  }

  /** Messages by id, each with its index in its session's transcript, keyed by id. */
  async byId(tx: Queryable, ids: string[]): Promise<Map<string, Message>> {
    // The count walks the session's index range before the message. Its ORDER BY (that index's order) keeps
    // the planner on that range when the table has no statistics yet (a fresh load): without it, the type
    // index (tenant, type) looked as cheap, and each hit read every message of the tenant.
    const { rows } = await tx.query(
      `SELECT ${MESSAGE_COLUMNS},
              (SELECT count(*) FROM (
                 SELECT 1 FROM ${this.ctx.table('memories')} x
                  WHERE x.tenant_id = m.tenant_id AND x.session_id = m.session_id AND (x.position, x.id) < (m.position, m.id)
                    AND x.deleted_at IS NULL AND x.memory_type IN (${MESSAGE_TYPE_LIST})
                  ORDER BY x.position, x.id) earlier) AS seq
         FROM ${this.ctx.table('memories')} m
        WHERE m.tenant_id = $1 AND m.id = ANY($2::uuid[]) AND m.memory_type IN (${MESSAGE_TYPE_LIST})`,
      [this.ctx.tenant, ids],
    );
    return new Map(rows.map((row) => [String(row.id), toMessage(row)]));
  }

  /**
   * Each message with the `around` messages before and after it in its
   * session (itself included, in order), by message id: one statement for all
   * of them, each side an index range of the session's positions next to the
   * message, so a long session costs no more than a short one.
   */
  async around(tx: Queryable, messages: Message[], around: number): Promise<Map<string, Message[]>> {
    const t = this.ctx.table('memories');
    const side = (cmp: '<' | '>', order: 'ASC' | 'DESC') => `SELECT b.*, h.seq ${cmp === '<' ? '-' : '+'} b.k AS seq FROM (
        SELECT x.*, row_number() OVER (ORDER BY x.position ${order}, x.id ${order}) AS k FROM (
          SELECT ${MESSAGE_COLUMNS}, m.position FROM ${t} m
           WHERE m.tenant_id = $1 AND m.session_id = p.session_id AND m.deleted_at IS NULL
             AND m.memory_type IN (${MESSAGE_TYPE_LIST}) AND (m.position, m.id) ${cmp} (p.position, p.id)
           ORDER BY m.position ${order}, m.id ${order} LIMIT $4) x) b`;
    const { rows } = await tx.query(
      `SELECT h.hit::text AS hit, n.*
         FROM unnest($2::uuid[], $3::bigint[]) AS h(hit, seq)
         JOIN ${t} p ON p.tenant_id = $1 AND p.id = h.hit
         CROSS JOIN LATERAL (${side('<', 'DESC')} UNION ALL ${side('>', 'ASC')}) n`,
      [this.ctx.tenant, messages.map((m) => m.id), messages.map((m) => m.seq), around],
    );
    const byHit = new Map<string, Message[]>(messages.map((m) => [m.id, [m]]));
    for (const row of rows) byHit.get(String(row.hit))?.push(toMessage(row));
    for (const context of byHit.values()) context.sort((a, b) => a.seq - b.seq);
    return byHit;
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
   * Append messages under the session's lock (append_messages, migration 0016), in the
   * order given, after the session's last position. Ids the tenant already holds (live)
   * are left as they are; the same id twice in one batch is one message (the first).
   * Returns how many were written; NotFoundError when there is no such session.
   */
  async append(tx: Queryable, provider: string, sessionId: string, messages: CheckedMessage[]): Promise<number> {
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
    // A long transcript goes in statements of APPEND_CHUNK messages (one transaction: see appendsInOneStatement),
    // each well inside the statement timeout; positions continue from one to the next under the session's lock.
    const version = this.ctx.version();
    let total = 0;
    for (let at = 0; at < records.length || at === 0; at += APPEND_CHUNK) {
      const { rows } = await tx.query<{ written: number | null }>(
        `SELECT ${this.ctx.schema}.append_messages($1, $2, $3, $4, $5) AS written`,
        [this.ctx.tenant, sessionId, JSON.stringify(records.slice(at, at + APPEND_CHUNK)), version, provider],
        { prepare: true },
      );
      const written = rows[0]?.written;
      // Thrown inside the operation, so the router knows the write did not happen here.
      if (written === null || written === undefined) throw new NotFoundError(`no session ${sessionId}`, { sessionId });
      total += written;
    }
    return total;
  }

  /** Serialise writers of one session (positions are assigned under this lock). */
  async lockSession(tx: Queryable, id: string): Promise<void> {
    const { rows } = await tx.query(
      `SELECT 1 FROM ${this.ctx.table('sessions')} WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE`,
      [this.ctx.tenant, id],
    );
    if (!rows.length) throw new NotFoundError(`no session ${id}`, { sessionId: id });
  }

  /** Tombstone a session's memories (only its messages with `messagesOnly`), erasing their content. */
  async erase(tx: Queryable, sessionId: string, version: string, provider: string, messagesOnly = false): Promise<number> {
    const { rowCount } = await tx.query(
      `UPDATE ${this.ctx.table('memories')}
          SET ${tombstoneSet('memories', '$3', '$4')}
        WHERE tenant_id = $1 AND session_id = $2 AND deleted_at IS NULL
          ${messagesOnly ? `AND memory_type IN (${MESSAGE_TYPE_LIST})` : ''}`,
      [this.ctx.tenant, sessionId, version, provider],
    );
    return rowCount;
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
