import { Command, Option } from 'commander';
import { sendTestAlert } from '../ops/alerts/index.js';
import { withContext } from './context.js';
import { EXIT, out } from './output.js';

export function alertCommand(): Command {
  const alert = new Command('alert').description('the alert channels the monitor and `health --alert` send through');
  alert
    .command('test')
    .description(
      'send a clearly marked test alert through every configured channel (Telegram, webhook, Alertmanager) and report each outcome; exit 1 when one failed. Through Alertmanager it is routed by its severity like a real alert, and resolves by itself after a few minutes',
    )
    .option('--channel <name...>', 'only these channels (telegram, webhook, alertmanager)')
    .addOption(
      new Option('--severity <severity>', 'the severity it carries: info reaches chat, critical pages (docs/ops/alertmanager.yml)')
        .choices(['info', 'warning', 'critical'])
        .default('info'),
    )
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExamples:\n  agentmem alert test\n  agentmem alert test --channel alertmanager --severity critical')
    .action(async (flags: { channel?: string[]; severity: 'info' | 'warning' | 'critical'; json?: boolean }, command: Command) => {
      process.exitCode = await withContext(command, async ({ config }) => {
        const { event, outcomes } = await sendTestAlert(config, {
          severity: flags.severity,
          ...(flags.channel ? { channels: flags.channel } : {}),
        });
        const ok = outcomes.every((o) => o.outcome === 'sent');
        if (flags.json) out.json({ ok, severity: event.condition.severity, at: event.at, outcomes });
        else {
          for (const o of outcomes) out.line(`${o.outcome === 'sent' ? 'SENT  ' : 'FAILED'}  ${o.channel}${o.error ? `: ${o.error}` : ''}`);
          out.line(
            ok ? `test alert (${event.condition.severity}) sent through ${outcomes.length} channel(s)` : 'a channel failed: see above',
          );
        }
        return ok ? EXIT.ok : EXIT.failure;
      });
    });
  return alert;
}
