-- An item search or listing names a namespace prefix label by label
-- (namespace[1] = 'users' AND namespace[2] = 'u1' …): conditions the
-- (tenant_id, namespace) index cannot serve, so each one read every item of
-- the tenant. Indexed by its first three labels (most namespaces are one to
-- three deep: ('users', user, 'memories')), a prefix is an index range; labels
-- past the third are checked on the rows that range returns.
CREATE INDEX memories_namespace_path_idx ON {{schema}}.memories (tenant_id, (namespace[1]), (namespace[2]), (namespace[3]))
  WHERE namespace IS NOT NULL;
