import { Command } from 'commander';
import { redactUrl } from '../config/index.js';
import { embeddedDefault } from '../providers/index.js';
import { withContext } from './context.js';
import { out } from './output.js';

export function configCommand(): Command {
  const config = new Command('config').description('inspect the configuration agentmem loaded');
  config
    .command('show')
    .description('print the effective configuration (passwords redacted)')
    .option('--json', 'print the result as JSON')
    .action(async (flags: { json?: boolean }, command: Command) => {
      await withContext(command, async ({ config: loaded }) => {
        const providers = (loaded.providers.length ? loaded.providers : [embeddedDefault(loaded)]).map((p) => ({
          ...p,
          ...(p.url ? { url: redactUrl(p.url) } : {}),
        }));
        const view = { ...loaded, providers, defaultEmbedded: loaded.providers.length === 0 };
        if (flags.json) {
          out.json(view);
          return;
        }
        out.line(`sources:  ${loaded.sources.join(', ')}`);
        out.line(`schema:   ${loaded.schema}`);
        out.line(`tenant:   ${loaded.tenant}`);
        out.line(`failover: ${loaded.failover.enabled ? 'enabled' : 'disabled'}`);
        out.line('providers (failover order):');
        for (const p of providers) {
          const where = p.kind === 'embedded' ? `embedded ${p.dataDir}` : p.url;
          out.line(
            `  ${p.name.padEnd(12)} ${p.role.padEnd(8)} ${where}  pool=${p.pool.max} connect=${p.timeouts.connectMs}ms query=${p.timeouts.queryMs}ms statement=${p.timeouts.statementMs}ms`,
          );
        }
      });
    });
  return config;
}
