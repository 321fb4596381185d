import { Command } from 'commander';
import { withMemory } from './context.js';
import { out, table } from './output.js';
import { pointInTime } from './parsers.js';

export function historyCommand(): Command {
  return new Command('history')
    .description('one record’s changes, oldest first: operation, version, origin provider, actor, time, and what changed')
    .argument('<id>', 'a session, message or memory id, an atom id, or a setting as category/key')
    .option('--since <time>', 'changes at or after (ISO 8601, or a duration ago such as 2h)', pointInTime)
    .option('--until <time>', 'changes at or before', pointInTime)
    .option('--json', 'print the result as JSON (each change with the row before and after)')
    .action(async (id: string, flags: { since?: Date; until?: Date; json?: boolean }, command: Command) => {
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
    });
}

/** The fields whose value differs between two rows (bookkeeping left out). */
function changedFields(before: Record<string, unknown> | null, after: Record<string, unknown>): string[] {
  const skip = new Set(['version', 'origin']);
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after)]);
  return [...keys].filter((k) => !skip.has(k) && JSON.stringify(before?.[k]) !== JSON.stringify(after[k]));
}
