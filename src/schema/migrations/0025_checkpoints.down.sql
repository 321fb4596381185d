DROP TABLE {{schema}}.checkpoint_writes;
DROP TABLE {{schema}}.checkpoints;
