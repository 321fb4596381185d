import type { AgentMemory } from '../memory/index.js';
import { type MemoryOptions, Runtime, type RuntimeOptions } from './runtime.js';

export type CreateMemoryOptions = RuntimeOptions &
  MemoryOptions & {
    /** Run the background workers the config asks for (embeddings; extraction and summaries with a model) while the store is open (default true). */
    workers?: boolean;
  };

/**
 * Open agentmem's memory API. Nothing connects until the first call; with no
 * provider configured it runs on the embedded database, migrated on first use.
 * `memory.close()` closes everything it opened (never a pool you passed in).
 *
 * @example
 * const memory = await createMemory({ tenant: 'acme' });
 * const session = await memory.sessions.create({ agentId: 'support-bot' });
 * await memory.sessions.addMessage(session.id, { role: 'user', content: 'My order is late' });
 * await memory.close();
 *
 * @example
 * // On the pool your application already has:
 * const memory = await createMemory({ pool, tenant: 'acme' });
 */
export async function createMemory(options: CreateMemoryOptions = {}): Promise<AgentMemory> {
  const { config, pool, workers = true, ...memory } = options;
  const runtime = await Runtime.open({ ...(config ? { config } : {}), ...(pool ? { pool } : {}) });
  try {
    const opened = await runtime.memory(memory, { closesRuntime: true });
    if (workers) {
      runtime.startWorkers(opened.storeContext.embedder);
      runtime.startFormation(opened);
    }
    return opened;
  } catch (error) {
    await runtime.close();
    throw error;
  }
}
