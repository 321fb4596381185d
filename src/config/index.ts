export {
  type AgentmemConfig,
  CONFIG_DEFAULTS,
  type ConfigInput,
  DEFAULT_TIMEOUTS,
  MAX_CONTENT_BYTES,
  type ProviderConfig,
  type ResolvedProvider,
  type Timeouts,
} from './definition.js';
export { type LoadConfigOptions, loadConfig } from './load.js';
export { REDACTED, redact, redactCredentials, redactDeep, redactUrl, registerSecret, registerUrlSecrets } from './redact.js';
