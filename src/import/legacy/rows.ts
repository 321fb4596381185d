/** The legacy system's rows as agentmem input: roles, tool calls, messages, timestamps (naive ones read as UTC), and the report's counts. */
import { createHash } from 'node:crypto';
import type { ToolCall } from '../../memory/index.js';
import type { Queryable } from '../../providers/index.js';
import type { MemoryType } from '../../schema/index.js';

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

export interface Counts {
  read: number;
  imported: number;
  existing: number;
}

export const ROLES = ['user', 'assistant', 'system', 'tool'] as const;
export type LegacyRole = (typeof ROLES)[number];

/** A legacy tool call, OpenAI-shaped ({id, function: {name, arguments}}) or flat ({id, name, arguments | args}). */
export function legacyToolCall(value: unknown): ToolCall | undefined {
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
export function legacyToolFields(
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
export function withToolFields(role: LegacyRole, fields: ReturnType<typeof legacyToolFields>) {
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
export const counts = (): Counts => ({ read: 0, imported: 0, existing: 0 });
export const ROLE_OF: Partial<Record<MemoryType, LegacyRole>> = {
  message_user: 'user',
  message_assistant: 'assistant',
  message_system: 'system',
  message_tool: 'tool',
};

export async function tableColumns(db: Queryable, table: string): Promise<Map<string, string> | undefined> {
  const { rows } = await db.query<{ column_name: string; data_type: string }>(
    `SELECT column_name, data_type FROM information_schema.columns
      WHERE table_name = $1 AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY ordinal_position`,
    [table],
  );
  return rows.length ? new Map(rows.map((r) => [r.column_name, r.data_type])) : undefined;
}

/** A timestamp column as an ISO string in UTC, whatever its type. */
export function utcExpression(column: string, type: string | undefined): string {
  if (!type) return 'NULL';
  return type === 'timestamp without time zone'
    ? `to_char(${column}, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`
    : `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

export const parseJson = (value: unknown): unknown => {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
};

/** A timestamp as the Python code wrote it (`datetime.isoformat()`, usually without a zone) read as UTC. */
export function utcIso(value: unknown): string | undefined {
  if (typeof value !== 'string' || !value.trim()) return undefined;
  const text = /(Z|[+-]\d\d:?\d\d)$/.test(value.trim()) ? value.trim() : `${value.trim()}Z`;
  const at = new Date(text);
  return Number.isNaN(at.getTime()) ? undefined : at.toISOString();
}

export const asObject = (value: unknown): Record<string, unknown> =>
  value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

/**
 * One message row. The Python storage keeps the whole message in `content`:
 * {role, content, timestamp, metadata, message_index}; older rows hold the
 * text there and the index in the metadata column.
 */
export function legacyMessage(
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

export const hash = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 32);

/** Progress of one step of an import: `done` of `total` (sessions, conversations, atoms). */
export type ImportProgress = (done: number, total: number, step: string) => void;
