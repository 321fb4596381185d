import type { Command } from 'commander';
import { type AgentmemConfig, loadConfig } from '../config/index.js';
import { UsageError } from '../errors/index.js';
import type { AgentMemory } from '../memory/index.js';
import { setLogLevel } from '../observability/logger.js';
import type { ProviderSet } from '../providers/index.js';
import { Runtime } from '../runtime/index.js';
import { remoteMemory } from './http-client.js';

export interface GlobalOptions {
  config?: string;
}

export interface CommandContext {
  config: AgentmemConfig;
  providers: ProviderSet;
  /** What the command builds with (migrators, the replicator, the memory API): closed with it. */
  runtime: Runtime;
}

async function commandConfig(command: Command): Promise<{ config: AgentmemConfig; tenant: string | undefined }> {
  const globals = command.optsWithGlobals() as GlobalOptions & { tenant?: string };
  const config = await loadConfig(globals.config ? { configPath: globals.config } : {});
  setLogLevel(config.log.level);
  return { config, tenant: globals.tenant };
}

/**
 * Run fn, then close — also when Ctrl-C or SIGTERM arrives while it runs
 * (unless the command handles signals itself: long-running loops stop cleanly
 * and return, and are closed here afterwards).
 */
async function closingOnSignal<T>(close: () => Promise<void>, fn: () => Promise<T>, handleSignals = true): Promise<T> {
  const onSignal = (signal: NodeJS.Signals) => {
    void close().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  if (handleSignals) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  try {
    return await fn();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await close();
  }
}

/** Resolves when SIGINT or SIGTERM arrives (for a loop that stops by itself); `dispose` removes the handlers. */
export function untilSignal(): { stopped: Promise<NodeJS.Signals>; dispose(): void } {
  let handler: (signal: NodeJS.Signals) => void = () => undefined;
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    handler = resolve;
  });
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    stopped,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

/**
 * The one lifecycle of a long-running command: start the loop, run until
 * SIGINT or SIGTERM, stop it cleanly (the caller closes the rest afterwards).
 * Resolves with the signal that arrived.
 */
export async function runUntilSignal(
  loop: { start(): unknown; stop(): Promise<void> },
  onSignal?: (signal: NodeJS.Signals) => void,
): Promise<NodeJS.Signals> {
  const signal = untilSignal();
  try {
    loop.start();
    const received = await signal.stopped;
    onSignal?.(received);
    await loop.stop();
    return received;
  } finally {
    signal.dispose();
  }
}

/** Load config, open providers lazily, run the command, and always close every pool and the embedded database. */
export async function withContext<T>(
  command: Command,
  fn: (context: CommandContext) => Promise<T>,
  options: { handleSignals?: boolean } = {},
): Promise<T> {
  const { config } = await commandConfig(command);
  const runtime = Runtime.fromConfig(config);
  return closingOnSignal(
    () => runtime.close(),
    () => fn({ config, providers: runtime.providers, runtime }),
    options.handleSignals ?? true,
  );
}

/**
 * Run fn with the memory API over the configured providers; always closed
 * afterwards. A command that handles SIGINT/SIGTERM itself (serve drains its
 * requests first) passes `handleSignals: false`.
 */
export async function withMemory<T>(
  command: Command,
  fn: (memory: AgentMemory) => Promise<T>,
  options: { handleSignals?: boolean; workers?: boolean } = {},
): Promise<T> {
  const { config, tenant } = await commandConfig(command);
  const server = (command.optsWithGlobals() as { server?: string }).server ?? process.env.AGENTMEM_SERVER;
  if (server) {
    // The server's key decides the tenant.
    if (tenant) throw new UsageError('--tenant does not apply with --server: the API key decides the tenant');
    return fn(remoteMemory(server, process.env.AGENTMEM_API_KEY));
  }
  const runtime = Runtime.fromConfig(config);
  const memory = await runtime.memory(tenant === undefined ? {} : { tenant }, { closesRuntime: true });
  // A long-running command (serve) runs the background workers the config asks for; a one-shot command does not.
  if (options.workers) runtime.startWorkers(memory.storeContext.embedder);
  return closingOnSignal(
    () => memory.close(),
    () => fn(memory),
    options.handleSignals ?? true,
  );
}

/** Parse a command-line value as JSON when it is JSON, else keep it as a string. */
export function jsonOrString(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}
