/**
 * The replicated tables: their primary keys and the columns copied between
 * providers (generated columns are rebuilt by each provider; change_xid is
 * each provider's own change position).
 */
export interface ReplicatedTable {
  name: 'sessions' | 'memories' | 'knowledge_atoms' | 'settings';
  key: string[];
  columns: string[];
}

export const REPLICATED_TABLES: ReplicatedTable[] = [
  {
    name: 'sessions',
    key: ['tenant_id', 'id'],
    columns: ['tenant_id', 'id', 'agent_id', 'user_id', 'title', 'metadata', 'started_at', 'ended_at', 'version', 'origin', 'deleted_at'],
  },
  {
    name: 'memories',
    key: ['tenant_id', 'id'],
    columns: [
      'tenant_id',
      'id',
      'session_id',
      'user_id',
      'memory_type',
      'position',
      'content',
      'metadata',
      'importance',
      'created_at',
      'expires_at',
      'embedding',
      'embedding_model',
      'embedding_dim',
      'version',
      'origin',
      'deleted_at',
    ],
  },
  {
    name: 'knowledge_atoms',
    key: ['tenant_id', 'id'],
    columns: [
      'tenant_id',
      'id',
      'atom_id',
      'atom_type',
      'title',
      'summary',
      'content',
      'manufacturer',
      'product_family',
      'product_version',
      'difficulty',
      'prerequisites',
      'related_atoms',
      'source_document',
      'source_pages',
      'source_url',
      'quality_score',
      'safety_level',
      'safety_notes',
      'keywords',
      'citations',
      'metadata',
      'created_at',
      'last_validated_at',
      'embedding',
      'embedding_model',
      'embedding_dim',
      'version',
      'origin',
      'deleted_at',
    ],
  },
  {
    name: 'settings',
    key: ['tenant_id', 'category', 'key'],
    columns: ['tenant_id', 'category', 'key', 'id', 'value', 'description', 'updated_at', 'version', 'origin', 'deleted_at'],
  },
];
