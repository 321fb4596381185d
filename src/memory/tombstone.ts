/**
 * The SET list that erases what a deleted memory said, for every path that
 * deletes one (forget, a session's clear or delete, retention, dedupe): the
 * tombstone keeps its key, type, session, user and times — what replication,
 * history and erasure need — and nothing of its content.
 */
export const ERASED_MEMORY_CONTENT = `content = 'null'::jsonb, metadata = '{}'::jsonb, embedding = NULL, name = NULL, tool_calls = NULL,
  tool_call_id = NULL, extra = NULL, content_hash = NULL`;
