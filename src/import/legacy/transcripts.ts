/** The legacy transcripts: session_memories (messages, session metadata, typed memories) and the Telegram bot's conversations. */
import { idForKey } from '../../core/ids.js';
import type { AgentMemory } from '../../memory/index.js';
import type { Queryable } from '../../providers/index.js';
import { type MemoryType, REMEMBERED_TYPES, type RememberedType } from '../../schema/index.js';

import {
  asObject,
  hash,
  type ImportProgress,
  type LegacyImportReport,
  legacyMessage,
  legacyToolFields,
  parseJson,
  ROLE_OF,
  ROLES,
  tableColumns,
  utcExpression,
  utcIso,
  withToolFields,
} from './rows.js';
export async function importSessionMemories(
  memory: AgentMemory,
  source: Queryable,
  report: LegacyImportReport,
  dryRun: boolean,
  progress: ImportProgress = () => undefined,
): Promise<void> {
  const columns = await tableColumns(source, 'session_memories');
  if (!columns) {
    report.skipped.push({ table: 'session_memories', reason: 'not found' });
    return;
  }
  const { rows } = await source.query<{
    session_id: string;
    user_id: string | null;
    memory_type: string;
    content: unknown;
    metadata: unknown;
    created_at: string | null;
  }>(
    `SELECT session_id::text AS session_id, ${columns.has('user_id') ? 'user_id::text' : 'NULL'} AS user_id, memory_type,
            content, ${columns.has('metadata') ? 'metadata' : 'NULL'} AS metadata, ${utcExpression('created_at', columns.get('created_at'))} AS created_at
       FROM session_memories ORDER BY session_id, created_at`,
  );
  const bySession = new Map<string, typeof rows>();
  for (const row of rows) bySession.set(row.session_id, [...(bySession.get(row.session_id) ?? []), row]);
  const tenant = memory.tenant;

  let done = 0;
  for (const [legacySession, sessionRows] of bySession) {
    progress(done++, bySession.size, 'sessions (session_memories)');
    const sessionId = idForKey(tenant, 'legacy-session', legacySession);
    const meta = sessionRows.find((r) => r.memory_type === 'session_metadata');
    // {created_at, last_active, metadata, message_count}, as the Python storage writes it.
    const metaContent = asObject(parseJson(meta?.content));
    const sessionMetadata = asObject(metaContent.metadata);
    const title = typeof sessionMetadata.title === 'string' ? sessionMetadata.title : metaContent.title;
    const startedAt =
      utcIso(metaContent.created_at) ??
      sessionRows
        .map((r) => r.created_at)
        .filter(Boolean)
        .sort()[0] ??
      undefined;
    const userId = sessionRows.find((r) => r.user_id)?.user_id ?? undefined;

    // Transcript: one message per (role, content, message_index), in index (then time) order.
    const seen = new Set<string>();
    const messages = [];
    for (const row of sessionRows) {
      const typeRole = ROLE_OF[row.memory_type as MemoryType];
      if (!typeRole) continue;
      report.messages.read++;
      const message = legacyMessage(row.content, row.metadata, typeRole);
      const key = JSON.stringify([message.role, message.content, message.index]);
      if (seen.has(key)) {
        report.messages.duplicates++;
        continue;
      }
      seen.add(key);
      const at = message.timestamp ?? row.created_at;
      if (message.role === 'tool' && !message.toolCallId) {
        report.skipped.push({
          table: 'session_memories',
          reason: `session ${legacySession}: a tool message without the tool call it answers`,
        });
        continue;
      }
      messages.push({
        id: idForKey(tenant, 'legacy-message', `${legacySession}\u0000${hash([message.role, message.content, message.index])}`),
        role: message.role,
        content: message.content,
        metadata: message.metadata,
        ...(message.name ? { name: message.name } : {}),
        ...(message.toolCalls ? { toolCalls: message.toolCalls } : {}),
        ...(message.toolCallId ? { toolCallId: message.toolCallId } : {}),
        ...(at ? { createdAt: new Date(at) } : {}),
        index: typeof message.index === 'number' ? message.index : Number.POSITIVE_INFINITY,
      });
    }
    messages.sort((a, b) => a.index - b.index || (a.createdAt?.getTime() ?? 0) - (b.createdAt?.getTime() ?? 0));
    report.sessions.read++;
    if (!dryRun) {
      try {
        const existed = await memory.sessions.get(sessionId);
        const saved = await memory.sessions.save({
          session: {
            id: sessionId,
            ...(userId ? { userId } : {}),
            ...(typeof title === 'string' ? { title } : {}),
            ...(startedAt ? { startedAt } : {}),
            metadata: {
              legacy_session_id: legacySession,
              ...sessionMetadata,
              ...(utcIso(metaContent.last_active) ? { last_active: utcIso(metaContent.last_active) } : {}),
            },
          },
          messages: messages.map(({ index: _index, ...m }) => m),
        });
        report.sessions[existed ? 'existing' : 'imported']++;
        report.messages.imported += saved.inserted;
        report.messages.existing += saved.existing;
      } catch (error) {
        report.skipped.push({ table: 'session_memories', reason: `session ${legacySession}: ${(error as Error).message}` });
        continue;
      }
    }

    // Everything else is a typed memory of that session.
    for (const row of sessionRows) {
      if (ROLE_OF[row.memory_type as MemoryType] || row.memory_type === 'session_metadata') continue;
      report.memories.read++;
      if (!(REMEMBERED_TYPES as readonly string[]).includes(row.memory_type)) {
        report.skipped.push({ table: 'session_memories', reason: `unknown memory_type "${row.memory_type}" in session ${legacySession}` });
        continue;
      }
      const id = idForKey(tenant, 'legacy-memory', `${legacySession}\u0000${hash([row.memory_type, row.content, row.created_at])}`);
      if (dryRun) continue;
      if (await memory.memories.get(id)) {
        report.memories.existing++;
        continue;
      }
      try {
        await memory.memories.remember({
          id,
          type: row.memory_type as RememberedType,
          content: parseJson(row.content) ?? null,
          metadata: (parseJson(row.metadata) ?? {}) as Record<string, unknown>,
          sessionId,
          ...(row.user_id ? { userId: row.user_id } : {}),
          ...(row.created_at ? { createdAt: row.created_at } : {}),
        });
        report.memories.imported++;
      } catch (error) {
        report.skipped.push({
          table: 'session_memories',
          reason: `${row.memory_type} in session ${legacySession}: ${(error as Error).message}`,
        });
      }
    }
  }
  progress(bySession.size, bySession.size, 'sessions (session_memories)');
}

/** The Telegram bot's conversations: one row per session, its messages as a JSON array. */
export async function importConversations(
  memory: AgentMemory,
  source: Queryable,
  report: LegacyImportReport,
  dryRun: boolean,
  progress: ImportProgress = () => undefined,
): Promise<void> {
  const columns = await tableColumns(source, 'conversation_sessions');
  if (!columns) {
    report.skipped.push({ table: 'conversation_sessions', reason: 'not found' });
    return;
  }
  const optional = (column: string, cast = '') => (columns.has(column) ? `${column}${cast}` : 'NULL');
  const { rows } = await source.query<{
    session_id: string;
    user_id: string | null;
    telegram_user_id: string | null;
    messages: unknown;
    context_summary: string | null;
    last_topic: string | null;
    created_at: string | null;
    updated_at: string | null;
  }>(
    `SELECT session_id::text AS session_id, ${optional('user_id', '::text')} AS user_id, ${optional('telegram_user_id', '::text')} AS telegram_user_id,
            ${optional('messages')} AS messages, ${optional('context_summary')} AS context_summary, ${optional('last_topic')} AS last_topic,
            ${utcExpression('created_at', columns.get('created_at'))} AS created_at, ${utcExpression('updated_at', columns.get('updated_at'))} AS updated_at
       FROM conversation_sessions ORDER BY session_id`,
  );
  const tenant = memory.tenant;
  for (const [i, row] of rows.entries()) {
    progress(i, rows.length, 'conversations (conversation_sessions)');
    report.conversations.read++;
    const list = parseJson(row.messages);
    const messages = (Array.isArray(list) ? list : []).flatMap((entry, index) => {
      const m = asObject(entry);
      const role = ROLES.find((r) => r === m.role);
      if (!role || typeof m.content !== 'string') {
        report.skipped.push({ table: 'conversation_sessions', reason: `session ${row.session_id}: message ${index} has no role/content` });
        return [];
      }
      report.messages.read++;
      const at = utcIso(m.timestamp);
      const { role: _r, content: _c, timestamp: _t, name: _n, tool_calls: _tc, tool_call_id: _ti, ...rest } = m;
      // Message.to_dict() nests the message's metadata: tool fields may be in there.
      const nested = rest.metadata && typeof rest.metadata === 'object' && !Array.isArray(rest.metadata);
      const found = legacyToolFields(m, nested ? asObject(rest.metadata) : rest);
      const fields = withToolFields(role, nested ? { ...found, metadata: { ...rest, metadata: found.metadata } } : found);
      if (role === 'tool' && !fields.toolCallId) {
        report.skipped.push({
          table: 'conversation_sessions',
          reason: `session ${row.session_id}: message ${index} is a tool message without the tool call it answers`,
        });
        return [];
      }
      return [
        {
          id: idForKey(tenant, 'legacy-conversation-message', `${row.session_id}\u0000${index}`),
          role,
          content: m.content,
          ...fields,
          ...(at ? { createdAt: new Date(at) } : {}),
        },
      ];
    });
    if (dryRun) continue;
    try {
      const sessionId = idForKey(tenant, 'legacy-conversation', row.session_id);
      const existed = await memory.sessions.get(sessionId);
      const saved = await memory.sessions.save({
        session: {
          id: sessionId,
          ...(row.user_id ? { userId: row.user_id } : {}),
          ...(row.last_topic ? { title: row.last_topic } : {}),
          ...(row.created_at ? { startedAt: row.created_at } : {}),
          metadata: {
            legacy_conversation_id: row.session_id,
            ...(row.telegram_user_id ? { telegram_user_id: row.telegram_user_id } : {}),
            ...(row.context_summary ? { context_summary: row.context_summary } : {}),
            ...(row.updated_at ? { updated_at: row.updated_at } : {}),
          },
        },
        messages,
      });
      report.conversations[existed ? 'existing' : 'imported']++;
      report.messages.imported += saved.inserted;
      report.messages.existing += saved.existing;
    } catch (error) {
      report.skipped.push({ table: 'conversation_sessions', reason: `session ${row.session_id}: ${(error as Error).message}` });
    }
  }
  progress(rows.length, rows.length, 'conversations (conversation_sessions)');
}
