import type { Command } from 'commander';
import { type AgentmemConfig, loadConfig } from '../config/index.js';
import { type AgentMemory, createMemory } from '../memory/index.js';
import { setLogLevel } from '../observability/logger.js';
import { ProviderSet } from '../providers/index.js';

export interface GlobalOptions {
  config?: string;
}

export interface CommandContext {
  config: AgentmemConfig;
  providers: ProviderSet;
}

/**
 * Load config, open providers lazily, run the command, and always close every
 * pool and the embedded database — also on Ctrl-C / SIGTERM.
 */
export async function withContext<T>(command: Command, fn: (context: CommandContext) => Promise<T>): Promise<T> {
  const globals = command.optsWithGlobals() as GlobalOptions;
  const config = await loadConfig(globals.config ? { configPath: globals.config } : {});
  setLogLevel(config.log.level);
  const providers = ProviderSet.fromConfig(config);
  const onSignal = (signal: NodeJS.Signals) => {
    void providers.close().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await fn({ config, providers });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await providers.close();
  }
}

/** Run fn with the memory API over the configured providers; always closed afterwards. */
export async function withMemory<T>(
  command: Command,
  fn: (memory: AgentMemory) => Promise<T>,
  options: { tenant?: string } = {},
): Promise<T> {
  const globals = command.optsWithGlobals() as GlobalOptions & { tenant?: string };
  const config = await loadConfig(globals.config ? { configPath: globals.config } : {});
  setLogLevel(config.log.level);
  const tenant = options.tenant ?? globals.tenant;
  const memory = await createMemory({ config, ...(tenant ? { tenant } : {}) });
  const onSignal = (signal: NodeJS.Signals) => {
    void memory.close().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await fn(memory);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await memory.close();
  }
}

/** Parse a command-line value as JSON when it is JSON, else keep it as a string. */
export function jsonOrString(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}
