DROP TABLE {{schema}}.checkpoint_writes;
DROP TABLE {{schema}}.checkpoint_blobs;
DROP TABLE {{schema}}.checkpoints;
