/**
 * The enums of the data model, defined once. The migrations' CHECK constraints
 * are generated from these lists ({{memory_types}} etc. in the .sql files), and
 * the validators use the same lists, so code and database cannot disagree.
 */
export const MEMORY_TYPES = [
  'session_metadata',
  'message_user',
  'message_assistant',
  'message_system',
  'message_tool',
  'message_developer',
  'context',
  'action',
  'issue',
  'decision',
  'log',
  // What memory formation writes (and callers may too): facts and preferences a conversation states,
  // a model's summary of a range of a session's messages.
  'fact',
  'preference',
  'summary',
  // A scope's working memory: one document per user or session, written through workingMemory only.
  'working_memory',
] as const;
export type MemoryType = (typeof MEMORY_TYPES)[number];

/** The types a caller writes with remember(): every type but a scope's working memory, which has its own API. */
export const REMEMBERED_TYPES = MEMORY_TYPES.filter((t): t is RememberedType => t !== 'working_memory');
export type RememberedType = Exclude<MemoryType, 'working_memory'>;

/** The memory types that are messages of a session transcript. */
export const MESSAGE_TYPES = MEMORY_TYPES.filter((t) => t.startsWith('message_'));

/** `fault` is the system we replace's name for a troubleshooting atom; both are kept as written. */
export const ATOM_TYPES = [
  'concept',
  'procedure',
  'specification',
  'troubleshooting',
  'fault',
  'pattern',
  'reference',
  'faq',
  'safety',
] as const;
export type AtomType = (typeof ATOM_TYPES)[number];

export const DIFFICULTY_LEVELS = ['beginner', 'intermediate', 'advanced', 'expert'] as const;
export type Difficulty = (typeof DIFFICULTY_LEVELS)[number];

export const SAFETY_LEVELS = ['info', 'caution', 'warning', 'danger'] as const;
export type SafetyLevel = (typeof SAFETY_LEVELS)[number];

/**
 * A knowledge atom id: `prefix:slug`, or the replaced system's
 * `manufacturer:product:topic-slug` — segments of letters (either case),
 * digits and - _ . (and / after the first), separated by colons. The same
 * pattern is the knowledge_atoms_atom_id_check constraint (migration 0005).
 */
export const ATOM_ID_PATTERN_SOURCE = '^[A-Za-z0-9][A-Za-z0-9_.-]*(:[A-Za-z0-9][A-Za-z0-9._/-]*)+$';

/**
 * How a backup archive's body is compressed. brotli at quality 1 compresses
 * COPY text about three times faster than gzip at level 1, and smaller: on
 * two cores the compressor competes with the server's COPY for CPU, so it
 * sets a backup's pace. Each takes its own range of levels (brotli's quality).
 */
export const ARCHIVE_COMPRESSIONS = ['brotli', 'gzip'] as const;
export type ArchiveCompression = (typeof ARCHIVE_COMPRESSIONS)[number];
export const DEFAULT_ARCHIVE_COMPRESSION: ArchiveCompression = 'brotli';
/** For either compression, the fastest level that still compresses well. */
export const DEFAULT_COMPRESSION_LEVEL = 1;
export const COMPRESSION_LEVELS: Record<ArchiveCompression, { min: number; max: number }> = {
  brotli: { min: 0, max: 11 },
  gzip: { min: 1, max: 9 },
};
