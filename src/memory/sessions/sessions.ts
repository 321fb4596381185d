import { z } from 'zod';
import { MESSAGE_TYPES } from '../../core/enums.js';
import { newId } from '../../core/ids.js';
import { tombstoneSet } from '../../core/tables.js';
import { viewColumns } from '../../core/views.js';
import { ConflictError, NotFoundError, ValidationError } from '../../errors/index.js';
import type { Queryable } from '../../providers/index.js';
import type { StoreContext } from '../context.js';
import { type MessageSearchOptions, messageSearchSchema, searchQuery } from '../recall/recall-input.js';
import { type RecallMatch, type RecallOutcome, RecallSearch } from '../recall/recall-search.js';
import { checkJson, checkSize, cleanText, parseInput, parseUuid, timestamp } from '../validation.js';
import { approximateTokens, type ContextWindowOptions, summarizedWindow } from './context-window.js';
import { exportTranscript, importTranscript, type TranscriptFormat } from './formats/index.js';
import { MessageLog } from './message-log.js';
import { type Message, type MessageInput, roleToType, sessionIdFor } from './message-model.js';
import {
  EXPORT_FORMATS,
  type ExportFormat,
  type MessagesFilter,
  placeId,
  SESSION_VIEW,
  type Session,
  type SessionFilter,
  type SessionInput,
  type SessionSummary,
  saveInput,
  sessionFilter,
  sessionInput,
  stripMessageOutput,
  stripSessionOutput,
  toSession,
} from './session-model.js';

export {
  EXPORT_FORMATS,
  type ExportFormat,
  type MessagesFilter,
  messagesFilter,
  type Session,
  type SessionFilter,
  type SessionInput,
  type SessionSummary,
  sessionFilter,
  sessionInput,
} from './session-model.js';

const SESSION_COLUMNS = viewColumns(SESSION_VIEW);

/**
 * Sessions, and through them their messages (the message log) and whole
 * transcripts: save and load, export and import in other frameworks' forms.
 * Every write is idempotent on the client-generated ids: re-saving a session
 * inserts only the messages the database does not have yet, so a transcript
 * is never duplicated.
 */
export class Sessions {
  private readonly log: MessageLog;
  private readonly recall: RecallSearch;

  constructor(private readonly ctx: StoreContext) {
    this.log = new MessageLog(ctx);
    this.recall = new RecallSearch(ctx);
  }

  /** Append one message. Retrying with the same `id` returns the stored message, never a second copy. */
  addMessage(sessionId: string, input: MessageInput): Promise<Message> {
    return this.log.addMessage(sessionId, input);
  }

  /**
   * Append several messages in one statement (under the session's lock, one
   * INSERT for all of them), in the order given. A retry after an unknown
   * outcome can send the same batch: messages the session already has (same
   * id) are left as they are, nothing is written twice.
   */
  addMessages(sessionId: string, inputs: MessageInput[]): Promise<{ inserted: number; existing: number }> {
    return this.log.addMessages(sessionId, inputs);
  }

  /** The transcript: the newest `limit` messages matching the filter, oldest first (with `asOf`, as it was then). */
  getMessages(sessionId: string, filter: MessagesFilter = {}): Promise<Message[]> {
    return this.log.getMessages(sessionId, filter);
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
      await this.log.erase(tx, sessionId, version, provider);
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
      await this.log.lockSession(tx, sessionId);
      return this.log.erase(tx, sessionId, this.ctx.version(), provider, true);
    });
  }

  /**
   * Recall by meaning across a scope's transcripts (a user's sessions, an
   * agent's, one session): the messages best matching `query`, by full text,
   * vector or both fused; each hit with the `around` messages before and after
   * it in its session (its place in the conversation). When the embedder
   * fails, the text leg answers alone, with `degraded: 'embedder'`.
   */
  async searchMessages(query: string, options: MessageSearchOptions = {}): Promise<RecallOutcome<MessageHit>> {
    const text = parseInput(searchQuery, query, 'search query');
    const o = parseInput(messageSearchSchema, options, 'search options');
    const types = o.roles ? o.roles.map(roleToType) : MESSAGE_TYPES;
    return this.recall.search(
      'session.searchMessages',
      { text, mode: o.mode, k: o.k, scope: o.scope, types, includeSuperseded: true, minScore: o.minScore },
      async (tx, ids) => {
        const found = await this.log.byId(tx, ids);
        const context = o.around > 0 ? await this.log.around(tx, [...found.values()], o.around) : undefined;
        const hits = new Map<string, MessageHit>();
        for (const [id, message] of found)
          hits.set(id, { message, ...(context ? { context: context.get(id) ?? [message] } : {}) } as MessageHit);
        return hits;
      },
      { loadSends: o.around > 0 ? 'several' : 'one statement' },
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
    const messages = shape.messages.map((m, i) => this.log.check(sessionId, m, i));
    const saved = await this.ctx.write('session.save', async (tx, { provider }) => {
      await this.upsertSession(tx, provider, sessionId, session);
      const inserted = await this.log.append(tx, provider, sessionId, messages);
      return { session: await this.requireSession(tx, sessionId), inserted, existing: messages.length - inserted };
    });
    if (this.ctx.recall?.mode === 'inline') await this.ctx.embedInline(messages.map((m) => m.id));
    return saved;
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
   * dropped together, and a result whose call is gone is left out. When turns
   * must be dropped and the session has a summary (memory formation), the
   * summary stands in for the turns it covers, as a system message before the
   * newest turns after them.
   */
  async contextWindow(sessionId: string, maxTokens: number, options: ContextWindowOptions = {}): Promise<Message[]> {
    const messages = await this.getMessages(sessionId);
    const note = (summary: SessionSummary): Message => ({
      id: summary.id,
      sessionId,
      role: 'system',
      content: `Summary of the conversation before the messages below:\n${summary.text}`,
      metadata: { summary: true },
      createdAt: summary.createdAt,
      seq: -1,
    });
    const count = options.tokenCounter ?? approximateTokens;
    const found = await summarizedWindow(
      messages,
      maxTokens,
      options,
      () => this.latestSummary(sessionId),
      (summary) => count(note(summary)),
    );
    return 'window' in found ? found.window : [...found.instructions, note(found.summary), ...found.turns];
  }

  /** The session's current summary (written by memory formation), with the range of messages it covers; null when none. */
  async latestSummary(sessionId: string): Promise<SessionSummary | null> {
    const id = parseUuid(sessionId, 'session id');
    return this.ctx.read(
      'session.summary',
      async (tx) => {
        const { rows } = await tx.query<{ id: string; content: unknown; metadata: Record<string, unknown>; created_at: Date }>(
          `SELECT id::text AS id, content, metadata, created_at FROM ${this.ctx.table('memories')}
            WHERE tenant_id = $1 AND session_id = $2 AND memory_type = 'summary' AND deleted_at IS NULL AND valid_to IS NULL
            ORDER BY created_at DESC, id DESC LIMIT 1`,
          [this.ctx.tenant, id],
        );
        const row = rows[0];
        if (!row) return null;
        const provenance = (row.metadata?.provenance ?? {}) as { fromMessage?: string; throughMessage?: string; messages?: number };
        return {
          id: row.id,
          text: typeof row.content === 'string' ? row.content : JSON.stringify(row.content),
          fromMessage: provenance.fromMessage ?? null,
          throughMessage: provenance.throughMessage ?? null,
          messages: Number(provenance.messages ?? 0),
          createdAt: row.created_at,
        };
      },
      { single: true },
    );
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

/** A message found by search, why it matched, and (with `around`) its neighbours in its session. */
export type MessageHit = { message: Message; context?: Message[] } & RecallMatch;
