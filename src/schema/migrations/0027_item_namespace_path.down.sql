DROP INDEX {{schema}}.memories_namespace_path_idx;
