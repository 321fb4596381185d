/**
 * AgentmemSaver — LangGraph's checkpointer (each thread's state, step by
 * step) kept in agentmem: checkpoints fail over, replicate, show in `sync
 * verify`, are backed up and restored, and are erased with their thread's
 * session or user (a thread is the session whose external id is the thread id).
 *
 * @example
 * import { AgentmemSaver } from 'agentmem/langgraph';
 * const graph = builder.compile({ checkpointer: new AgentmemSaver({ memory }) });
 * await graph.invoke(input, { configurable: { thread_id: 'chat-42' } });
 */
import type { RunnableConfig } from '@langchain/core/runnables';
import {
  BaseCheckpointSaver,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointPendingWrite,
  type CheckpointTuple,
  compareWritesSortKeys,
  copyCheckpoint,
  getCheckpointId,
  maxChannelVersion,
  type PendingWrite,
  type SerializerProtocol,
  TASKS,
  WRITES_IDX_MAP,
  writesSortKey,
} from '@langchain/langgraph-checkpoint';
import { type AgentMemory, type BlobKey, blobKey, type SerializedValue, type StoredCheckpoint, type StoredWrite } from '../memory/index.js';

export interface AgentmemSaverOptions {
  /** The store (its tenant is the checkpoints' tenant). */
  memory: Pick<AgentMemory, 'checkpoints' | 'sessions'>;
  /** The user a new thread's session belongs to (erasing the user erases the thread's checkpoints). */
  userId?: string;
  serde?: SerializerProtocol;
}

const missing = (what: string) =>
  new Error(
    `the RunnableConfig has no "${what}" in its "configurable": a checkpointer needs one, e.g. graph.invoke(input, { configurable: { thread_id: "chat-42" } })`,
  );

export class AgentmemSaver extends BaseCheckpointSaver {
  private readonly memory: AgentmemSaverOptions['memory'];
  private readonly userId: string | undefined;
  /** Threads whose session is known to exist. */
  private readonly sessions = new Map<string, Promise<string>>();

  constructor(options: AgentmemSaverOptions) {
    super(options.serde);
    this.memory = options.memory;
    this.userId = options.userId;
  }

  async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const threadId = config.configurable?.thread_id as string | undefined;
    if (threadId === undefined) return undefined;
    const checkpointNs = (config.configurable?.checkpoint_ns as string | undefined) ?? '';
    const checkpointId = getCheckpointId(config);
    const stored = await this.memory.checkpoints.get(String(threadId), checkpointNs, checkpointId || undefined);
    if (!stored) return undefined;
    // Asked by id: the config comes back as given (as LangGraph's own savers answer).
    const [tuple] = await this.toTuples([stored], checkpointId ? config : undefined);
    return tuple;
  }

  async *list(config: RunnableConfig, options: CheckpointListOptions = {}): AsyncGenerator<CheckpointTuple> {
    const { before, limit, filter } = options;
    const found = await this.memory.checkpoints.list({
      threadId: config.configurable?.thread_id as string | undefined,
      checkpointNs: config.configurable?.checkpoint_ns as string | undefined,
      checkpointId: config.configurable?.checkpoint_id as string | undefined,
      before: before?.configurable?.checkpoint_id as string | undefined,
      filter: filter as Record<string, unknown> | undefined,
      limit,
    });
    for (const tuple of await this.toTuples(found)) yield tuple;
  }

  async put(
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    newVersions: ChannelVersions,
  ): Promise<RunnableConfig> {
    const threadId = config.configurable?.thread_id as string | undefined;
    if (threadId === undefined) throw missing('thread_id');
    const checkpointNs = (config.configurable?.checkpoint_ns as string | undefined) ?? '';
    // The channels' values go apart, once per version: only those that changed (newVersions) are stored.
    const { channel_values: values = {}, ...rest } = copyCheckpoint(checkpoint);
    const blobs = await Promise.all(
      Object.entries(newVersions).map(async ([channel, version]) => ({
        channel,
        version: String(version),
        value: channel in values ? await this.serialize(values[channel]) : null,
      })),
    );
    const [stored, meta] = await Promise.all([this.serialize(rest), this.serialize(metadata)]);
    await this.memory.checkpoints.put(
      await this.sessionOf(threadId),
      { threadId, checkpointNs, checkpointId: checkpoint.id },
      (config.configurable?.checkpoint_id as string | undefined) ?? null,
      stored,
      JSON.parse(meta.type === 'json' ? meta.data : Buffer.from(meta.data, 'base64').toString('utf8')),
      blobs,
    );
    return { configurable: { thread_id: threadId, checkpoint_ns: checkpointNs, checkpoint_id: checkpoint.id } };
  }

  async putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string, taskPath?: string): Promise<void> {
    const threadId = config.configurable?.thread_id as string | undefined;
    const checkpointId = config.configurable?.checkpoint_id as string | undefined;
    if (threadId === undefined) throw missing('thread_id');
    if (checkpointId === undefined) throw missing('checkpoint_id');
    const checkpointNs = (config.configurable?.checkpoint_ns as string | undefined) ?? '';
    const stored: StoredWrite[] = await Promise.all(
      writes.map(async ([channel, value], idx) => ({
        taskId,
        idx: WRITES_IDX_MAP[channel] ?? idx,
        channel,
        value: await this.serialize(value),
        taskPath: taskPath ?? '',
      })),
    );
    await this.memory.checkpoints.putWrites(await this.sessionOf(threadId), { threadId, checkpointNs, checkpointId }, stored);
  }

  async deleteThread(threadId: string): Promise<void> {
    await this.memory.checkpoints.deleteThread(threadId);
  }

  /** The thread's session: created (for `userId`) the first time the thread is written. */
  private sessionOf(threadId: string): Promise<string> {
    let known = this.sessions.get(threadId);
    if (!known) {
      // A bounded memory of threads seen: past 10,000 it starts again (creating a session that exists returns it).
      if (this.sessions.size >= 10_000) this.sessions.clear();
      known = this.memory.sessions.create({ externalId: threadId, ...(this.userId ? { userId: this.userId } : {}) }).then((s) => s.id);
      known.catch(() => this.sessions.delete(threadId));
      this.sessions.set(threadId, known);
    }
    return known;
  }

  private async serialize(value: unknown): Promise<SerializedValue> {
    const [type, bytes] = await this.serde.dumpsTyped(value);
    const buffer = Buffer.from(bytes);
    return { type, data: type === 'json' ? buffer.toString('utf8') : buffer.toString('base64') };
  }

  private deserialize(value: SerializedValue): Promise<unknown> {
    return this.serde.loadsTyped(value.type, value.type === 'json' ? value.data : new Uint8Array(Buffer.from(value.data, 'base64')));
  }

  private async pendingWrites(writes: StoredWrite[]): Promise<CheckpointPendingWrite[]> {
    // In the order live execution applies a step's writes (LangGraph's one comparator).
    const ordered = [...writes].sort((a, b) =>
      compareWritesSortKeys(writesSortKey(a.taskPath, a.taskId, a.idx), writesSortKey(b.taskPath, b.taskId, b.idx)),
    );
    return Promise.all(ordered.map(async (w) => [w.taskId, w.channel, await this.deserialize(w.value)] as CheckpointPendingWrite));
  }

  /** Stored checkpoints as tuples, each with its channels' values and its pending writes. */
  private async toTuples(found: StoredCheckpoint[], config?: RunnableConfig): Promise<CheckpointTuple[]> {
    const checkpoints = await Promise.all(found.map(async (stored) => (await this.deserialize(stored.checkpoint)) as Checkpoint));
    // The values of checkpoints not read with them (not stored as JSON), in one query for all.
    const wanted: BlobKey[] = found.flatMap((stored, i) =>
      stored.blobs
        ? []
        : Object.entries((checkpoints[i] as Checkpoint).channel_versions ?? {}).map(([channel, version]) => ({
            threadId: stored.threadId,
            checkpointNs: stored.checkpointNs,
            channel,
            version: String(version),
          })),
    );
    const blobs = await this.memory.checkpoints.blobs(wanted);
    for (const stored of found)
      for (const blob of stored.blobs ?? [])
        blobs.set(
          blobKey({ threadId: stored.threadId, checkpointNs: stored.checkpointNs, channel: blob.channel, version: blob.version }),
          blob.value,
        );
    return Promise.all(
      found.map(async (stored, i) => {
        const checkpoint = checkpoints[i] as Checkpoint;
        const values: Record<string, unknown> = {};
        for (const [channel, version] of Object.entries(checkpoint.channel_versions ?? {})) {
          const blob = blobs.get(
            blobKey({ threadId: stored.threadId, checkpointNs: stored.checkpointNs, channel, version: String(version) }),
          );
          if (blob) values[channel] = await this.deserialize(blob);
        }
        checkpoint.channel_values = values;
        checkpoint.channel_versions ??= {};
        checkpoint.versions_seen ??= {};
        return this.toTuple(stored, checkpoint, config);
      }),
    );
  }

  private async toTuple(stored: StoredCheckpoint, checkpoint: Checkpoint, config?: RunnableConfig): Promise<CheckpointTuple> {
    const { threadId, checkpointNs, checkpointId, parentCheckpointId } = stored;
    // Checkpoints of format < 4 kept pending sends in their parent's writes: as LangGraph's savers, move them in.
    if (checkpoint.v < 4 && parentCheckpointId !== null) {
      const parentWrites = await this.memory.checkpoints.writes({ threadId, checkpointNs, checkpointId: parentCheckpointId });
      const sends = await Promise.all(parentWrites.filter((w) => w.channel === TASKS).map((w) => this.deserialize(w.value)));
      checkpoint.channel_values[TASKS] = sends;
      const versions = Object.values(checkpoint.channel_versions);
      checkpoint.channel_versions[TASKS] = versions.length ? maxChannelVersion(...versions) : this.getNextVersion(undefined);
    }
    const tuple: CheckpointTuple = {
      config: config ?? { configurable: { thread_id: threadId, checkpoint_ns: checkpointNs, checkpoint_id: checkpointId } },
      checkpoint,
      metadata: (await this.serde.loadsTyped('json', JSON.stringify(stored.metadata))) as CheckpointMetadata,
      pendingWrites: await this.pendingWrites(stored.writes),
    };
    if (parentCheckpointId !== null)
      tuple.parentConfig = { configurable: { thread_id: threadId, checkpoint_ns: checkpointNs, checkpoint_id: parentCheckpointId } };
    return tuple;
  }
}
