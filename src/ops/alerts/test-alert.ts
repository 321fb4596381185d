/**
 * `agentmem alert test`: a clearly marked test alert through every configured
 * channel (or the ones named), each outcome reported. On-call teams check
 * that a page reaches them before the night it has to; Alertmanager routes it
 * by its severity as it would a real one (info: chat; critical: the pager).
 */
import { hostname } from 'node:os';
import type { AgentmemConfig } from '../../config/index.js';
import { UsageError } from '../../errors/index.js';
import { type AlertEvent, channelsFromConfig, withRetries } from './channels.js';
import type { Severity } from './conditions.js';

export interface TestAlertOutcome {
  channel: string;
  outcome: 'sent' | 'failed';
  error?: string;
}

export async function sendTestAlert(
  config: AgentmemConfig,
  options: { channels?: string[]; severity?: Severity; now?: Date } = {},
): Promise<{ event: AlertEvent; outcomes: TestAlertOutcome[] }> {
  const configured = channelsFromConfig(config);
  const known = configured.map((c) => c.name);
  if (!configured.length)
    throw new UsageError(
      'no alert channel is configured: set monitor.alerts.telegram, .webhook or .alertmanager (or their environment variables)',
    );
  const unknown = (options.channels ?? []).filter((name) => !known.includes(name));
  if (unknown.length) throw new UsageError(`no configured alert channel named ${unknown.join(', ')} (configured: ${known.join(', ')})`);
  const channels = options.channels?.length ? configured.filter((c) => options.channels?.includes(c.name)) : configured;
  const at = (options.now ?? new Date()).toISOString();
  const event: AlertEvent = {
    status: 'firing',
    since: at,
    at,
    condition: {
      key: 'test',
      name: 'test',
      severity: options.severity ?? 'info',
      summary: `TEST alert from agentmem alert test on ${hostname()}: nothing is wrong, this checks that alerts reach you`,
    },
  };
  const policy = withRetries(config.monitor.alerts);
  const outcomes: TestAlertOutcome[] = [];
  for (const channel of channels) {
    try {
      await policy.execute(() => channel.send(event));
      outcomes.push({ channel: channel.name, outcome: 'sent' });
    } catch (error) {
      outcomes.push({ channel: channel.name, outcome: 'failed', error: (error as Error).message });
    }
  }
  return { event, outcomes };
}
