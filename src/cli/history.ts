import { Command } from 'commander';
import { pruneHistory } from '../backup/index.js';
import { UsageError } from '../errors/index.js';
import { withContext, withMemory } from './context.js';
import { out, table } from './output.js';
import { pointInTime } from './parsers.js';
import { stepProgress } from './progress.js';

export function historyCommand(): Command {
  return new Command('history')
    .description('one record’s changes, oldest first: operation, version, origin provider, actor, time, and what changed')
    .argument('[id]', 'a session, message or memory id, an atom id, or a setting as category/key')
    .option('--since <time>', 'changes at or after (ISO 8601, or a duration ago such as 2h)', pointInTime)
    .option('--until <time>', 'changes at or before', pointInTime)
    .option('--prune', 'instead: drop changes older than history.retentionDays (30) from every provider (the monitor does it daily)')
    .option('--dry-run', 'with --prune: count, delete nothing')
    .option('--json', 'print the result as JSON (each change with the row before and after)')
    .action(
      async (
        id: string | undefined,
        flags: { since?: Date; until?: Date; prune?: boolean; dryRun?: boolean; json?: boolean },
        command: Command,
      ) => {
        if (flags.prune) {
          if (id) throw new UsageError('--prune takes no record id');
          return withContext(command, async ({ config, providers }) => {
            const all = await Promise.all(providers.names.map((name) => providers.get(name)));
            const results = await pruneHistory(all, config.schema, {
              retentionDays: config.history.retentionDays,
              dryRun: Boolean(flags.dryRun),
              onProgress: stepProgress(flags),
            });
            if (flags.json) return out.json({ dryRun: Boolean(flags.dryRun), providers: results });
            for (const r of results)
              out.line(`${r.provider}: ${flags.dryRun ? 'would prune' : 'pruned'} ${r.pruned} change(s) older than ${r.cutoff}`);
          });
        }
        if (!id) throw new UsageError('give a record id (or --prune)');
        await withMemory(command, async (memory) => {
          const changes = await memory.history.changes(id, {
            ...(flags.since ? { since: flags.since } : {}),
            ...(flags.until ? { until: flags.until } : {}),
          });
          if (flags.json) return out.json({ record: id, changes });
          if (!changes.length)
            return out.line(`no recorded changes of ${id} (the history keeps the last days configured in history.retentionDays)`);
          out.line(
            table(
              changes.map((c) => ({
                time: c.changedAt.toISOString(),
                table: c.table,
                operation: c.operation,
                origin: c.origin,
                actor: c.actor ?? '',
                changed: changedFields(c.before, c.after).join(', '),
              })),
              ['time', 'table', 'operation', 'origin', 'actor', 'changed'],
            ),
          );
        });
      },
    );
}

/** The fields whose value differs between two rows (bookkeeping left out). */
function changedFields(before: Record<string, unknown> | null, after: Record<string, unknown>): string[] {
  const skip = new Set(['version', 'origin']);
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after)]);
  return [...keys].filter((k) => !skip.has(k) && JSON.stringify(before?.[k]) !== JSON.stringify(after[k]));
}
