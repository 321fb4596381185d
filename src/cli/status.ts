import { Command } from 'commander';
import { DependencyMissingError } from '../errors/index.js';
import { systemStatus } from '../ops/status.js';
import { withContext } from './context.js';
import { EXIT, out, table } from './output.js';

export function statusCommand(): Command {
  return new Command('status')
    .description('show each configured provider: reachable, latency, server, pgvector, schema version')
    .option('--json', 'print the result as JSON')
    .action(async (flags: { json?: boolean }, command: Command) => {
      process.exitCode = await withContext(command, async ({ config, providers }) => {
        const status = await systemStatus(config, providers);
        if (flags.json) {
          out.json(status);
        } else {
          out.line(`config: ${status.configSources.join(', ')}`);
          out.line(`schema: ${status.schema}   checked at ${status.checkedAt}`);
          out.line(
            `embedder: ${status.embedder.model} (${status.embedder.dimensions} dimensions) — ${
              status.embedder.matches === 'words'
                ? 'the built-in embedder: matches words and spellings, not meaning (configure a model for recall by meaning)'
                : 'a model: matches meaning'
            }`,
          );
          if (status.embedder.missingPackages)
            out.line(new DependencyMissingError('the embedder', status.embedder.missingPackages).message);
          out.line(
            table(
              status.providers.map((p) => ({
                provider: p.name,
                role: p.role,
                kind: p.kind,
                state: p.reachable ? 'up' : `DOWN: ${p.error?.message ?? ''}`,
                latency: p.latencyMs === undefined ? '' : `${p.latencyMs} ms`,
                server: p.serverVersion ?? '',
                pgvector: p.vector ?? (p.reachable ? 'none' : ''),
                schema: p.schemaVersion === undefined ? '' : `${p.schemaVersion}/${p.latestSchemaVersion}`,
                drift: p.drift ? (p.drift.differences ? `${p.drift.blocking ? 'BLOCKING ' : ''}${p.drift.differences}` : 'none') : '',
                target: p.target,
              })),
              ['provider', 'role', 'kind', 'state', 'latency', 'server', 'pgvector', 'schema', 'drift', 'target'],
            ),
          );
          if (status.recentEvents.length) {
            out.line('\nrecent router events:');
            for (const event of status.recentEvents) {
              const { at, type, ...rest } = event;
              out.line(
                `  ${at}  ${type.padEnd(9)} ${Object.entries(rest)
                  .map(([k, v]) => `${k}=${v}`)
                  .join(' ')}`,
              );
            }
          }
          for (const p of status.providers.filter((x) => x.drift?.blocking)) {
            out.line(
              `\n${p.name}: takes no writes until its schema is fixed: ${p.drift?.summary} — run \`agentmem schema diff --provider ${p.name}\``,
            );
          }
          const pending = status.providers.filter((p) => (p.pendingMigrations ?? 0) > 0);
          if (pending.length) out.line(`\n${pending.map((p) => p.name).join(', ')}: migrations pending — run \`agentmem migrate up\``);
        }
        return status.providers.every((p) => p.reachable) ? EXIT.ok : EXIT.failure;
      });
    });
}
