import type { AgentmemConfig } from '../config/index.js';
import type { Executor, Router } from '../providers/index.js';
import { Atoms } from './atoms/atoms.js';
import { History } from './change-history.js';
import { Checkpoints } from './checkpoints/checkpoints.js';
import { StoreContext } from './context.js';
import { type AssembledContext, assembleContext, type ContextOptions } from './context-assembly.js';
import type { Embedder } from './embedders.js';
import { Retention } from './expiry.js';
import { type ExtractionReport, FORMATION_OFF, type MemoryFormation, type SummaryReport } from './formation-port.js';
import { Items } from './items.js';
import { Memories } from './memories/memories.js';
import { createEmbedder } from './openai-embedder.js';
import { Sessions } from './sessions/sessions.js';
import { Settings } from './settings.js';
import { identifier, parseInput } from './validation.js';
import { WorkingMemory } from './working/working-memory.js';

/** What openMemory() needs: where work runs, for which tenant, with which config and embedder. */
export interface StoreOptions {
  config: AgentmemConfig;
  executor: Executor;
  tenant?: string;
  /** Recorded with every change in the change history. */
  actor?: string;
  embedder?: Embedder;
  /** The router, when the store routes between providers (exposed as `memory.router`). */
  router?: Router;
  /** Closes what the store opened (pools, loops); a store that owns nothing closes nothing. */
  close?: () => Promise<void>;
  /** Extraction and summaries with the caller's model (default: off, saying how to turn it on). */
  formation?: MemoryFormation<AgentMemory>;
}

/** The agent-facing API. Nothing connects until the first call. */
export class AgentMemory {
  readonly sessions: Sessions;
  readonly memories: Memories;
  /** Keyed memories: a value at a namespace path and key, replaced in place (LangGraph's store model). */
  readonly items: Items;
  readonly atoms: Atoms;
  readonly settings: Settings;
  readonly history: History;
  /** Legal holds, and expiring memories by retention policy (the ops command and the monitor run it for every tenant). */
  readonly retention: Retention;
  /** One document per user or session that an agent keeps in context and edits (merged in the server: no update is lost). */
  readonly workingMemory: WorkingMemory;
  /** Agent graphs' checkpoints, per thread (a session): what agentmem/langgraph's AgentmemSaver stores. */
  readonly checkpoints: Checkpoints;

  constructor(
    readonly storeContext: StoreContext,
    readonly config: AgentmemConfig,
    private readonly release: (() => Promise<void>) | undefined,
    /** The router, when this store routes between providers (configured providers). */
    readonly router?: Router,
    /** Extraction and summaries with the caller's model (off without one). */
    readonly formation: MemoryFormation<AgentMemory> = FORMATION_OFF,
  ) {
    this.sessions = new Sessions(storeContext);
    this.memories = new Memories(storeContext);
    this.items = new Items(storeContext);
    this.atoms = new Atoms(storeContext);
    this.settings = new Settings(storeContext, config.settings.cacheTtlMs);
    this.history = new History(storeContext);
    this.retention = new Retention(storeContext);
    this.workingMemory = new WorkingMemory(storeContext, config.workingMemory);
    this.checkpoints = new Checkpoints(storeContext);
  }

  get tenant(): string {
    return this.storeContext.tenant;
  }

  /**
   * A prompt-ready block for an agent's next turn: the memories and knowledge
   * most relevant to `query` (default: the session's newest user message), each
   * cited by id, and the session's newest turns that fit — never over
   * `budgetTokens` (counted by `countTokens`, default ≈ 4 characters a token).
   */
  context(options: ContextOptions): Promise<AssembledContext> {
    return assembleContext(this, options);
  }

  /**
   * Turn the session's messages not yet extracted into memories with the
   * configured model: facts, preferences, decisions … added, or superseding
   * the current ones they change. Each message is extracted once, whoever
   * asks and however often. Needs createMemory({ model }).
   */
  extract(sessionId: string, options: { force?: boolean } = {}): Promise<ExtractionReport> {
    return this.formation.extract(this, sessionId, options);
  }

  /**
   * Summarise the session's older messages (all but the newest
   * formation.summaries.keepRecent) into one `summary` memory, superseding the
   * previous summary; context windows use it in place of the turns it covers.
   * Needs createMemory({ model }).
   */
  summarize(sessionId: string, options: { force?: boolean } = {}): Promise<SummaryReport> {
    return this.formation.summarize(this, sessionId, options);
  }

  /** The same store, scoped to another tenant (shares connections and the router). */
  forTenant(tenant: string): AgentMemory {
    // Another caller: its own read-your-writes token.
    return new AgentMemory(
      this.storeContext.with({ tenant: parseInput(identifier, tenant, 'tenant'), token: {} }),
      this.config,
      undefined,
      this.router,
      this.formation,
    );
  }

  /** The same store, recording `actor` (an agent, a user, a job) with every change it writes, in the change history. */
  asActor(actor: string): AgentMemory {
    return new AgentMemory(
      this.storeContext.with({ actor: parseInput(identifier, actor, 'actor') }),
      this.config,
      undefined,
      this.router,
      this.formation,
    );
  }

  /** Close the connections this store opened (a store from forTenant() shares them and closes nothing). */
  async close(): Promise<void> {
    await this.release?.();
  }
}

/** The memory API over an executor that is already wired (the runtime, src/runtime/, does the wiring). */
export function openMemory(options: StoreOptions): AgentMemory {
  const { config } = options;
  const tenant = parseInput(identifier, options.tenant ?? config.tenant, 'tenant');
  const context = new StoreContext({
    executor: options.executor,
    tenant,
    schema: config.schema,
    limits: config.limits,
    search: config.search,
    dedupe: config.dedupe,
    embedder: options.embedder ?? createEmbedder(config.embedder),
    slowQueryMs: config.monitor.slowQueryMs,
    recall: config.recall.embed,
    ...(options.actor ? { actor: parseInput(identifier, options.actor, 'actor') } : {}),
  });
  return new AgentMemory(context, config, options.close, options.router, options.formation);
}
