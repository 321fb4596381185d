import { createHash } from 'node:crypto';
import { DEFAULT_TIMEOUTS, redactUrl } from '../../config/index.js';
import { idForKey } from '../../core/ids.js';
import { type AgentMemory, type ToolCall, validateAtom } from '../../memory/index.js';
import { PgProvider, type Queryable } from '../../providers/index.js';
import { MEMORY_TYPES, type MemoryType, table } from '../../schema/index.js';

/**
 * Import from the database of the system agentmem replaces (its schema files
 * and the rows its Python storage writes):
 *   session_memories(session_id, user_id, memory_type, content jsonb, metadata, created_at)
 *     - a message row keeps its whole message in `content`: {role, content,
 *       timestamp, metadata, message_index}; the metadata column stays unset;
 *     - one session_metadata row per session: {created_at, last_active, metadata, message_count};
 *     - other types (context, decision, …): content and metadata as given;
 *   conversation_sessions(session_id, user_id, telegram_user_id, messages jsonb
 *     [{role, content, timestamp}], context_summary, last_topic, created_at, updated_at)
 *   knowledge_atoms(atom_id manufacturer:product:topic-slug, atom_type incl. fault,
 *     …, source_pages integer[], embedding vector(1536), …)
 *   settings(setting_key, setting_value, category, description) and
 *   agent_factory_settings(category, key, value, description): where both hold
 *     a key, agent_factory_settings (what the settings service reads) wins and
 *     the other is reported as shadowed.
 * It re-appended whole transcripts on every save; a message seen again (same
 * session, role, content and message_index) is imported once. Ids are derived
 * from the legacy identity, so running the import twice imports nothing new.
 * Naive timestamps (without time zone) are read as UTC.
 */
export interface LegacyImportReport {
  source: string;
  dryRun: boolean;
  sessions: Counts;
  messages: Counts & { duplicates: number };
  conversations: Counts;
  memories: Counts;
  atoms: Counts & { invalid: { atomId: string | null; reasons: string[] }[] };
  /** Settings whose two legacy tables disagree: agent_factory_settings' value was kept. */
  settings: Counts & { shadowed: string[] };
  skipped: { table: string; reason: string }[];
}

interface Counts {
  read: number;
  imported: number;
  existing: number;
}

const ROLES = ['user', 'assistant', 'system', 'tool'] as const;
type LegacyRole = (typeof ROLES)[number];

/** A legacy tool call, OpenAI-shaped ({id, function: {name, arguments}}) or flat ({id, name, arguments | args}). */
function legacyToolCall(value: unknown): ToolCall | undefined {
  const call = asObject(value);
  const fn = asObject(call.function);
  const name = typeof fn.name === 'string' ? fn.name : call.name;
  if (typeof call.id !== 'string' || typeof name !== 'string') return undefined;
  return { id: call.id, name, arguments: fn.arguments ?? call.arguments ?? call.args ?? {} };
}

/**
 * The tool and speaker fields of a legacy message, where its row has them —
 * beside role and content, or (tool calls and the call answered, in the
 * Python Message's only free field) in its metadata, taken out of it.
 */
function legacyToolFields(
  entry: Record<string, unknown>,
  metadata: Record<string, unknown>,
): { name?: string; toolCalls?: ToolCall[]; toolCallId?: string; metadata: Record<string, unknown> } {
  const { tool_calls, tool_call_id, ...rest } = metadata;
  const pick = (key: string, fromMetadata: unknown) => entry[key] ?? fromMetadata;
  const out: ReturnType<typeof legacyToolFields> = { metadata: rest };
  // A name in the metadata may mean anything (a user's name): only the message's own is its speaker.
  const speaker = entry.name;
  if (typeof speaker === 'string' && speaker) out.name = speaker;
  const calls = pick('tool_calls', tool_calls);
  if (Array.isArray(calls) && calls.length) {
    const parsed = calls.map(legacyToolCall);
    if (parsed.every((c): c is ToolCall => c !== undefined)) out.toolCalls = parsed;
    else out.metadata.tool_calls = calls; // not a shape we know: kept as it was
  }
  const answers = pick('tool_call_id', tool_call_id);
  if (typeof answers === 'string' && answers) out.toolCallId = answers;
  return out;
}

/** A legacy message as our input: tool calls only on an assistant, a call id only on a tool message (else kept in metadata). */
function withToolFields(role: LegacyRole, fields: ReturnType<typeof legacyToolFields>) {
  const { metadata, ...tool } = fields;
  const kept = { ...metadata };
  if (tool.toolCalls && role !== 'assistant') {
    kept.tool_calls = tool.toolCalls;
    delete tool.toolCalls;
  }
  if (tool.toolCallId && role !== 'tool') {
    kept.tool_call_id = tool.toolCallId;
    delete tool.toolCallId;
  }
  return { ...tool, metadata: kept };
}
const counts = (): Counts => ({ read: 0, imported: 0, existing: 0 });
const ROLE_OF: Partial<Record<MemoryType, LegacyRole>> = {
  message_user: 'user',
  message_assistant: 'assistant',
  message_system: 'system',
  message_tool: 'tool',
};

async function tableColumns(db: Queryable, table: string): Promise<Map<string, string> | undefined> {
  const { rows } = await db.query<{ column_name: string; data_type: string }>(
    `SELECT column_name, data_type FROM information_schema.columns
      WHERE table_name = $1 AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY ordinal_position`,
    [table],
  );
  return rows.length ? new Map(rows.map((r) => [r.column_name, r.data_type])) : undefined;
}

/** A timestamp column as an ISO string in UTC, whatever its type. */
function utcExpression(column: string, type: string | undefined): string {
  if (!type) return 'NULL';
  return type === 'timestamp without time zone'
    ? `to_char(${column}, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`
    : `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

const parseJson = (value: unknown): unknown => {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
};

/** A timestamp as the Python code wrote it (`datetime.isoformat()`, usually without a zone) read as UTC. */
function utcIso(value: unknown): string | undefined {
  if (typeof value !== 'string' || !value.trim()) return undefined;
  const text = /(Z|[+-]\d\d:?\d\d)$/.test(value.trim()) ? value.trim() : `${value.trim()}Z`;
  const at = new Date(text);
  return Number.isNaN(at.getTime()) ? undefined : at.toISOString();
}

const asObject = (value: unknown): Record<string, unknown> =>
  value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

/**
 * One message row. The Python storage keeps the whole message in `content`:
 * {role, content, timestamp, metadata, message_index}; older rows hold the
 * text there and the index in the metadata column.
 */
function legacyMessage(
  content: unknown,
  metadataColumn: unknown,
  typeRole: LegacyRole,
): {
  role: LegacyRole;
  content: string;
  metadata: Record<string, unknown>;
  index: unknown;
  timestamp?: string;
  name?: string;
  toolCalls?: ToolCall[];
  toolCallId?: string;
} {
  const parsed = parseJson(content);
  const column = asObject(parseJson(metadataColumn));
  const envelope = asObject(parsed);
  if (typeof envelope.content === 'string') {
    const role = ROLES.find((r) => r === envelope.role) ?? typeRole;
    const timestamp = utcIso(envelope.timestamp);
    return {
      role,
      content: envelope.content,
      ...withToolFields(role, legacyToolFields(envelope, { ...column, ...asObject(envelope.metadata) })),
      index: envelope.message_index ?? column.message_index ?? null,
      ...(timestamp ? { timestamp } : {}),
    };
  }
  const { message_index: index = null, ...metadata } = column;
  return {
    role: typeRole,
    content: typeof parsed === 'string' ? parsed : JSON.stringify(parsed),
    ...withToolFields(typeRole, legacyToolFields({}, metadata)),
    index,
  };
}

const hash = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 32);

export async function importLegacy(
  memory: AgentMemory,
  sourceUrl: string,
  options: { dryRun?: boolean } = {},
): Promise<LegacyImportReport> {
  const source = new PgProvider({
    name: 'legacy',
    kind: 'postgres',
    url: sourceUrl,
    role: 'replica',
    preparedStatements: false,
    pool: { max: 2, idleTimeoutMs: 1000 },
    timeouts: { ...DEFAULT_TIMEOUTS, queryMs: 120_000, statementMs: 120_000 },
  } as never);
  const report: LegacyImportReport = {
    source: redactUrl(sourceUrl),
    dryRun: Boolean(options.dryRun),
    sessions: counts(),
    messages: { ...counts(), duplicates: 0 },
    conversations: counts(),
    memories: counts(),
    atoms: { ...counts(), invalid: [] },
    settings: { ...counts(), shadowed: [] },
    skipped: [],
  };
  try {
    await importSessionMemories(memory, source, report, Boolean(options.dryRun));
    await importConversations(memory, source, report, Boolean(options.dryRun));
    await importLegacyAtoms(memory, source, report, Boolean(options.dryRun));
    await importSettings(memory, source, report, Boolean(options.dryRun));
  } finally {
    await source.close();
  }
  return report;
}

async function importSessionMemories(memory: AgentMemory, source: Queryable, report: LegacyImportReport, dryRun: boolean): Promise<void> {
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

  for (const [legacySession, sessionRows] of bySession) {
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
      if (!(MEMORY_TYPES as readonly string[]).includes(row.memory_type)) {
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
          type: row.memory_type as MemoryType,
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
}

/** The Telegram bot's conversations: one row per session, its messages as a JSON array. */
async function importConversations(memory: AgentMemory, source: Queryable, report: LegacyImportReport, dryRun: boolean): Promise<void> {
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
  for (const row of rows) {
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
}

async function importLegacyAtoms(memory: AgentMemory, source: Queryable, report: LegacyImportReport, dryRun: boolean): Promise<void> {
  const columns = await tableColumns(source, 'knowledge_atoms');
  if (!columns) {
    report.skipped.push({ table: 'knowledge_atoms', reason: 'not found' });
    return;
  }
  // The legacy table shares our column names: read each of our atom's data columns it has (from the
  // table registry). Not its ids (ours derive from atom_id) nor its embeddings: the legacy 1536-dimension
  // vectors came from another model, so atoms are re-embedded here. Times are read as UTC.
  const ours = table('knowledge_atoms').columns.filter(
    (c) => c.role === 'data' && !['tenant_id', 'id', 'metadata'].includes(c.name) && !c.name.startsWith('embedding'),
  );
  const wanted = ours.filter((c) => columns.has(c.name) && c.type !== 'timestamp with time zone').map((c) => c.name);
  const times = ours
    .filter((c) => columns.has(c.name) && c.type === 'timestamp with time zone')
    .map((c) => `${utcExpression(c.name, columns.get(c.name))} AS ${c.name}`);
  const { rows } = await source.query(`SELECT ${[...wanted, ...times].join(', ')} FROM knowledge_atoms ORDER BY atom_id`);
  const valid = [];
  for (const row of rows) {
    report.atoms.read++;
    const input = {
      ...row,
      citations: parseJson(row.citations) ?? [],
      quality_score: row.quality_score === null ? null : Number(row.quality_score),
    };
    const result = validateAtom(input);
    if (!result.ok) {
      report.atoms.invalid.push({ atomId: (row.atom_id as string) ?? null, reasons: result.issues.map((i) => `${i.field}: ${i.message}`) });
      continue;
    }
    valid.push(result.atom);
  }
  if (dryRun || !valid.length) return;
  const result = await memory.atoms.upsertValid(valid);
  report.atoms.imported += result.inserted + result.updated;
  report.atoms.existing += result.unchanged;
}

async function importSettings(memory: AgentMemory, source: Queryable, report: LegacyImportReport, dryRun: boolean): Promise<void> {
  // agent_factory_settings is what the replaced settings service read: where both tables hold a key, it wins.
  const found = new Map<string, { category: string; key: string; value: unknown; description: string | null }>();
  if (await tableColumns(source, 'agent_factory_settings')) {
    const { rows } = await source.query<{ category: string; key: string; value: string; description: string | null }>(
      'SELECT category, key, value, description FROM agent_factory_settings ORDER BY 1, 2',
    );
    for (const r of rows) {
      report.settings.read++;
      found.set(`${r.category}\u0000${r.key}`, { ...r, value: parseJson(r.value) });
    }
  } else report.skipped.push({ table: 'agent_factory_settings', reason: 'not found' });
  if (await tableColumns(source, 'settings')) {
    const { rows } = await source.query<{ category: string | null; key: string; value: string; description: string | null }>(
      'SELECT category, setting_key AS key, setting_value AS value, description FROM settings ORDER BY 1, 2',
    );
    for (const r of rows) {
      const category = r.category ?? 'general';
      const key = `${category}\u0000${r.key}`;
      report.settings.read++;
      const winner = found.get(key);
      if (!winner) found.set(key, { category, key: r.key, value: parseJson(r.value), description: r.description });
      else if (JSON.stringify(winner.value) !== JSON.stringify(parseJson(r.value))) {
        report.settings.shadowed.push(`${category}.${r.key}`);
      }
    }
  } else report.skipped.push({ table: 'settings', reason: 'not found' });

  for (const s of found.values()) {
    if (dryRun) continue;
    try {
      memory.settings.clearCache();
      const current = await memory.settings.get(s.category, s.key);
      if (JSON.stringify(current) === JSON.stringify(s.value)) {
        report.settings.existing++;
        continue;
      }
      await memory.settings.set(s.category, s.key, s.value, s.description ?? undefined);
      report.settings.imported++;
    } catch (error) {
      report.skipped.push({ table: 'settings', reason: `${s.category}.${s.key}: ${(error as Error).message}` });
    }
  }
}
