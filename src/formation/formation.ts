/**
 * Memory formation with the caller's model: extraction and summaries behind
 * the memory API's port, and the background worker that runs them for
 * sessions with new messages (when the config enables them).
 */
import type { LanguageModel } from 'ai';
import type { AgentmemConfig } from '../config/index.js';
import { MESSAGE_TYPES } from '../core/enums.js';
import type { AgentMemory, ExtractionReport, MemoryFormation, SummaryReport } from '../memory/index.js';
import { logger } from '../observability/logger.js';
import { formationPendingSessions } from '../observability/metrics.js';
import type { Provider } from '../providers/index.js';
import { Extractor } from './extraction.js';
import { type FormationKind, modelLabel } from './formation-model.js';
import { FormationClaims, WATERMARK } from './formation-runs.js';
import { PassLoop } from './pass-loop.js';
import { Summarizer } from './summaries.js';

/** A caller's prompt in place of a shipped one, with the version its memories record. */
export interface PromptOverride {
  system: string;
  version: string;
}

export interface FormationOptions {
  extractionPrompt?: PromptOverride;
  summaryPrompt?: PromptOverride;
}

export class ModelFormation implements MemoryFormation<AgentMemory> {
  readonly model: string;
  private readonly extractor: Extractor;
  private readonly summarizer: Summarizer;

  constructor(model: LanguageModel, config: AgentmemConfig, writer: () => Promise<Provider>, options: FormationOptions = {}) {
    this.model = modelLabel(model);
    const claims = new FormationClaims(writer, config.schema, config.formation.leaseMs);
    const { extraction, summaries } = config.formation;
    this.extractor = new Extractor(
      model,
      {
        maxMessages: extraction.maxMessages,
        knownMemories: extraction.knownMemories,
        ...(options.extractionPrompt
          ? { systemPrompt: options.extractionPrompt.system, promptVersion: options.extractionPrompt.version }
          : {}),
      },
      claims,
    );
    this.summarizer = new Summarizer(
      model,
      {
        thresholdTokens: summaries.thresholdTokens,
        keepRecent: summaries.keepRecent,
        ...(options.summaryPrompt ? { systemPrompt: options.summaryPrompt.system, promptVersion: options.summaryPrompt.version } : {}),
      },
      claims,
    );
  }

  extract(memory: AgentMemory, sessionId: string, options: { force?: boolean } = {}): Promise<ExtractionReport> {
    return this.extractor.extract(memory, sessionId, options);
  }

  summarize(memory: AgentMemory, sessionId: string, options: { force?: boolean } = {}): Promise<SummaryReport> {
    return this.summarizer.summarize(memory, sessionId, options);
  }
}

export interface PendingSessions {
  extraction: number;
  summary: number;
}

/**
 * Runs extraction and summaries in the background for sessions with new
 * messages, on the writer, across tenants: a pass takes up to `batch`
 * sessions of each enabled kind, skipping those another
 * process holds or that wait for a backoff. A failed run is logged and counted;
 * the session is tried again after its backoff.
 */
export class FormationWorker extends PassLoop<number> {
  protected readonly name = 'formation';

  constructor(
    private readonly memory: AgentMemory,
    private readonly writer: () => Promise<Provider>,
    private readonly config: AgentmemConfig,
    private readonly batch = 20,
  ) {
    super();
  }

  private get kinds(): FormationKind[] {
    const { extraction, summaries } = this.config.formation;
    return [...(extraction.enabled ? (['extraction'] as const) : []), ...(summaries.enabled ? (['summary'] as const) : [])];
  }

  protected override get enabled(): boolean {
    return this.kinds.length > 0;
  }

  protected restAfter(ran: number | undefined): number {
    return ran !== undefined && ran >= this.batch ? 0 : this.config.formation.intervalMs;
  }

  /** One pass over the sessions that wait; how many runs it made. */
  async runOnce(): Promise<number> {
    let ran = 0;
    for (const kind of this.kinds) {
      for (const { tenant, sessionId } of await this.waiting(kind)) {
        if (this.stopping) break;
        const memory = this.memory.forTenant(tenant);
        try {
          if (kind === 'extraction') await memory.extract(sessionId, { force: false });
          else await memory.summarize(sessionId, { force: false });
        } catch (error) {
          // A failed run is logged (warn) where it failed, and its session tried again after a backoff.
          logger().debug({ kind, tenant, sessionId, err: (error as Error).message }, 'formation run failed');
        }
        ran++;
      }
    }
    await this.publish();
    return ran;
  }

  /** Sessions waiting for `kind` on the writer, and how many there are. */
  async status(): Promise<PendingSessions> {
    const provider = await this.writer();
    const count = async (kind: FormationKind) => {
      const { rows } = await provider.query<{ n: string }>(`SELECT count(*)::text AS n FROM (${this.waitingSql(kind)}) w`, [
        this.threshold(kind),
        1_000_000,
      ]);
      return Number(rows[0]?.n ?? 0);
    };
    return { extraction: await count('extraction'), summary: await count('summary') };
  }

  private lastPublished = 0;

  /** Set the pending-sessions gauge, at most every 30 s: the count reads every session with new messages. */
  private async publish(): Promise<void> {
    if (Date.now() - this.lastPublished < 30_000) return;
    this.lastPublished = Date.now();
    const status = await this.status().catch(() => undefined);
    if (!status) return;
    formationPendingSessions.set({ kind: 'extraction' }, status.extraction);
    formationPendingSessions.set({ kind: 'summary' }, status.summary);
  }

  private async waiting(kind: FormationKind): Promise<{ tenant: string; sessionId: string }[]> {
    const provider = await this.writer();
    const { rows } = await provider.query<{ tenant_id: string; id: string }>(this.waitingSql(kind), [this.threshold(kind), this.batch]);
    return rows.map((r) => ({ tenant: r.tenant_id, sessionId: r.id }));
  }

  /** How many messages past the watermark make a session wait: extraction's minimum; for summaries, more than the turns they keep. */
  private threshold(kind: FormationKind): number {
    const { extraction, summaries } = this.config.formation;
    return kind === 'extraction' ? extraction.minMessages : summaries.keepRecent + 1;
  }

  /**
   * Sessions with at least $1 live messages past their watermark (positions are
   * the transcript's order, not a count: the messages are counted, at most $1 of
   * each session), that no process holds and none waits for a backoff.
   */
  private waitingSql(kind: FormationKind): string {
    const s = this.config.schema;
    const watermark = `s.${WATERMARK[kind]}`;
    return `SELECT s.tenant_id, s.id::text AS id FROM ${s}.sessions s
      WHERE s.deleted_at IS NULL AND s.last_position IS NOT NULL AND s.last_position > coalesce(${watermark}, -1)
        AND (SELECT count(*) FROM (
               SELECT 1 FROM ${s}.memories m
                WHERE m.tenant_id = s.tenant_id AND m.session_id = s.id AND m.deleted_at IS NULL
                  AND m.memory_type IN (${MESSAGE_TYPES.map((t) => `'${t}'`).join(', ')}) AND m.position > coalesce(${watermark}, -1)
                LIMIT $1) n) >= $1
        AND NOT EXISTS (SELECT 1 FROM ${s}.formation_claims c
                         WHERE c.tenant_id = s.tenant_id AND c.session_id = s.id AND c.kind = '${kind}' AND c.retry_after > now())
      ORDER BY s.last_position, s.id
      LIMIT $2`;
  }
}
