import { DEFAULT_TIMEOUTS, redactUrl } from '../../config/index.js';
import type { AgentMemory } from '../../memory/index.js';
import { PgProvider } from '../../providers/index.js';
import { importLegacyAtoms, importSettings } from './knowledge.js';
import { counts, type ImportProgress, type LegacyImportReport } from './rows.js';
import { importConversations, importSessionMemories } from './transcripts.js';

export type { LegacyImportReport } from './rows.js';

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
export async function importLegacy(
  memory: AgentMemory,
  sourceUrl: string,
  options: { dryRun?: boolean; onProgress?: ImportProgress } = {},
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
    const dryRun = Boolean(options.dryRun);
    await importSessionMemories(memory, source, report, dryRun, options.onProgress);
    await importConversations(memory, source, report, dryRun, options.onProgress);
    await importLegacyAtoms(memory, source, report, dryRun, options.onProgress);
    await importSettings(memory, source, report, dryRun);
  } finally {
    await source.close();
  }
  return report;
}
