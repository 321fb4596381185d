import { type AgentmemConfig, CONFIG_DEFAULTS } from '../config/index.js';
import { type BreakerOptions, DEFAULT_HEALTH } from './provider-health.js';

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
