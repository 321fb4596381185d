/**
 * What the memory API asks of memory formation (extraction and summaries with
 * the caller's language model). The formation layer implements it and the
 * runtime hands it in; with no model configured, every call says so.
 */
import { FormationOffError } from '../errors/index.js';

export interface ExtractionReport {
  sessionId: string;
  /** extracted: the decisions were applied; nothing: no new messages; busy: another process is extracting them; raced: another run applied first. */
  status: 'extracted' | 'nothing' | 'busy' | 'raced';
  /** Messages the run read. */
  messages: number;
  added: string[];
  superseded: { id: string; by: string }[];
  /** Decisions that named a memory already stored (deduplicated). */
  duplicates: string[];
}

export interface SummaryReport {
  sessionId: string;
  /** summarized: a summary was written; nothing: not enough new messages; busy / raced: another process is on it, or was first. */
  status: 'summarized' | 'nothing' | 'busy' | 'raced';
  /** The summary memory written. */
  id?: string;
  /** Messages the summary added to the previous one. */
  messages: number;
}

/** Formation over a store of type `Store` (the memory API's AgentMemory; a parameter, so this module needs nothing of it). */
export interface MemoryFormation<Store = unknown> {
  /** The model's name (provider:modelId), or null when formation is off. */
  readonly model: string | null;
  extract(memory: Store, sessionId: string, options?: { force?: boolean }): Promise<ExtractionReport>;
  summarize(memory: Store, sessionId: string, options?: { force?: boolean }): Promise<SummaryReport>;
}

const off = async (): Promise<never> => {
  throw new FormationOffError(
    'memory formation needs a language model, and none is configured: pass createMemory({ model }) any AI SDK model ' +
      '(for example openai("gpt-4o-mini") from @ai-sdk/openai); nothing calls a model until you do',
  );
};

/** Formation without a model: every call is refused with how to turn it on. */
export const FORMATION_OFF: MemoryFormation = { model: null, extract: off, summarize: off };
