/** How a router is set up: its options from the config, the hooks the runtime gives it, and what it reports of each provider. */
import { type AgentmemConfig, CONFIG_DEFAULTS } from '../config/index.js';
import { type BreakerOptions, type BreakerState, DEFAULT_HEALTH } from './provider-health.js';
import type { Provider } from './types.js';

export interface RouterOptions {
  /** `primary`: reads go where writes go. `nearest`: the lowest-latency provider that has the caller's writes. */
  readMode: 'primary' | 'nearest';
  /** With failover off, every call goes to the primary only. */
  failover: boolean;
  probeIntervalMs: number;
  probeTimeoutMs: number;
  /** Calls that wait this long with no answer from their provider open its breaker (a hung server). */
  silenceMs: number;
  health: BreakerOptions;
  /** Append router events to this JSON Lines file (read by `agentmem status`); none when undefined. */
  eventLog?: string | undefined;
  /** How often to re-check schema drift (a fixed provider takes writes again). */
  driftCheckMs: number;
  /** Default acknowledgement for writes (a call may override it). */
  ack: 'async' | 'sync';
}

export const DEFAULT_ROUTER: RouterOptions = {
  readMode: CONFIG_DEFAULTS.router.readMode,
  failover: CONFIG_DEFAULTS.failover.enabled,
  probeIntervalMs: CONFIG_DEFAULTS.router.probeIntervalMs,
  probeTimeoutMs: CONFIG_DEFAULTS.router.probeTimeoutMs,
  silenceMs: CONFIG_DEFAULTS.router.silenceMs,
  health: DEFAULT_HEALTH,
  driftCheckMs: 60_000,
  ack: CONFIG_DEFAULTS.replication.ack,
};

/** Router options from the loaded config. */
export function routerOptions(config: AgentmemConfig): Partial<RouterOptions> {
  return {
    readMode: config.router.readMode,
    failover: config.failover.enabled,
    probeIntervalMs: config.router.probeIntervalMs,
    probeTimeoutMs: config.router.probeTimeoutMs,
    silenceMs: config.router.silenceMs,
    health: {
      ...DEFAULT_HEALTH,
      failureThreshold: config.router.failureThreshold,
      graceMs: config.router.graceMs,
      breakMs: config.router.breakMs,
    },
    eventLog: config.router.eventLog === false ? undefined : config.router.eventLog,
    ack: config.replication.ack,
  };
}

/** Where the caller's last write went: reads must not return anything older. */
export interface WriteToken {
  provider: string;
  at: bigint;
}

/**
 * What the router asks the layers it knows nothing of — given when it is
 * opened (the runtime, src/runtime/, wires them), never assigned afterwards.
 */
export interface RouterHooks {
  /** Has the replication of `token` reached `provider`? (Without replication, only the written provider has it.) */
  replicatedTo?: (provider: string, token: WriteToken) => boolean;
  /** Is a recovered provider caught up? (Without this, it waits for confirmCaughtUp().) */
  catchUp?: (provider: string) => Promise<boolean>;
  /**
   * Does a provider's schema differ from the code's in a way that breaks writes?
   * Checked at start-up, every `driftCheckMs`, and before a fenced provider takes writes again.
   */
  driftCheck?: (provider: Provider) => Promise<{ blocking: boolean; summary: string }>;
  /**
   * Work to finish before the first drift check (a migration the caller asked for): writes wait for both.
   * Its failure is not the router's: the first check then reports the schema as it is.
   */
  beforeFirstDriftCheck?: () => Promise<void>;
  /** Sync acknowledgement: resolve once `target` holds everything `source` held at HLC time `at`; reject when it cannot. */
  confirmDurable?: (source: Provider, target: Provider, at: bigint) => Promise<void>;
}

export interface ProviderRouteState {
  name: string;
  role: 'primary' | 'replica';
  breaker: BreakerState;
  latencyMs: number | undefined;
  lastError: string | undefined;
  /** Recovered, but kept from writes until replication has caught it up. */
  fenced: boolean;
  /** Why the schema keeps it from writes, when it does. */
  drift: string | undefined;
  writer: boolean;
}
