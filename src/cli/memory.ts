import { Command, Option } from 'commander';
import type { MemoryHit, MemorySearchOptions, RecallOutcome } from '../memory/index.js';
import { jsonOrString, withMemory } from './context.js';
import { matchedBy, out, table } from './output.js';
import { collect, fraction, pointInTime, positiveInt, scopeFlags } from './parsers.js';
import { stepProgress } from './progress.js';

export function memoryCommand(): Command {
  const memory = new Command('memory').description('store and recall typed memories (decisions, actions, issues, context, logs …)');
  memory
    .command('add')
    .description('store one memory and print its id')
    .requiredOption('--type <type>', 'memory type, e.g. decision, action, issue, context, log')
    .requiredOption('--content <json-or-text>', 'the content: JSON, or plain text')
    .option('--metadata <json>', 'a JSON object of metadata')
    .option('--session <id>', 'the session it belongs to')
    .option('--user <id>', 'the user it is about')
    .option('--importance <0..1>', 'importance from 0 to 1', fraction)
    .option('--expires <time>', 'forget it after this time (ISO 8601)')
    .option('--supersedes <id>', 'a current memory this one replaces (it gets validTo and stays in the history)')
    .option('--json', 'print the result as JSON')
    .action(async (flags, command: Command) => {
      await withMemory(command, async (m) => {
        const id = await m.memories.remember({
          ...(flags.supersedes ? { supersedes: flags.supersedes } : {}),
          type: flags.type,
          content: jsonOrString(flags.content),
          ...(flags.metadata ? { metadata: jsonOrString(flags.metadata) as Record<string, unknown> } : {}),
          ...(flags.session ? { sessionId: flags.session } : {}),
          ...(flags.user ? { userId: flags.user } : {}),
          ...(flags.importance === undefined ? {} : { importance: flags.importance }),
          ...(flags.expires ? { expiresAt: flags.expires } : {}),
        });
        if (flags.json) out.json({ id });
        else out.line(id);
      });
    });
  memory
    .command('search')
    .description(
      'with a query, recall memories by meaning (hybrid: full text and vector, fused); without one, list memories by filters. All filters apply before the limit',
    )
    .argument('[query]', 'what to recall, in words (searches by meaning: see --mode)')
    .addOption(new Option('--mode <mode>', 'with a query: text, vector or hybrid').choices(['text', 'vector', 'hybrid']).default('hybrid'))
    .option('--agent <id>', "with a query: only this agent's sessions")
    .option('--text <query>', 'full-text query (web-search syntax: "phrase", -not, or)')
    .option('--type <types>', 'memory types, comma-separated or repeated', collect)
    .option('--session <id>', 'only this session')
    .option('--user <id>', 'only this user')
    .option('--since <time>', 'created at or after (ISO 8601)')
    .option('--limit <n>', 'at most n memories', positiveInt, 20)
    .option('--as-of <time>', 'the facts true at this time (ISO 8601, or a duration ago such as 2h)', pointInTime)
    .option('--all-versions', 'also facts a newer memory superseded')
    .option('--json', 'print the result as JSON')
    .action(async (query: string | undefined, flags, command: Command) => {
      await withMemory(command, async (m) => {
        if (query !== undefined) return printSearch(await m.memories.search(query, searchOptions(flags)), flags.json);
        const found = await m.memories.recall({
          ...(flags.asOf ? { asOf: flags.asOf } : {}),
          ...(flags.allVersions ? { includeSuperseded: true } : {}),
          ...(flags.text ? { text: flags.text } : {}),
          ...(flags.type ? { types: flags.type } : {}),
          ...(flags.session ? { sessionId: flags.session } : {}),
          ...(flags.user ? { userId: flags.user } : {}),
          ...(flags.since ? { since: flags.since } : {}),
          limit: flags.limit,
        });
        if (flags.json) return out.json(found);
        if (!found.length) return out.line('no memories found');
        out.line(
          table(
            found.map((f) => ({
              id: f.id,
              type: f.type,
              created: f.createdAt.toISOString(),
              content: JSON.stringify(f.content).slice(0, 80),
            })),
            ['id', 'type', 'created', 'content'],
          ),
        );
      });
    });
  memory
    .command('dedupe')
    .description(
      "merge the tenant's duplicate memories into the oldest of each set: exact ones (type, user, normalised content) and near ones linked at write time; their history is kept",
    )
    .option('--dry-run', 'report what would merge, change nothing')
    .option('--json', 'print the report as JSON')
    .action(async (flags: { dryRun?: boolean; json?: boolean }, command: Command) => {
      await withMemory(command, async (m) => {
        const report = await m.memories.dedupe({ dryRun: Boolean(flags.dryRun), onProgress: stepProgress(flags) });
        if (flags.json) return out.json(report);
        const verb = report.dryRun ? 'would merge' : 'merged';
        out.line(
          `tenant ${report.tenant}: ${verb} ${report.exact.merged} exact duplicate(s) in ${report.exact.groups} set(s) and ${report.near.merged} near-duplicate(s)` +
            (report.hashed ? `; ${report.hashed} older memor${report.hashed === 1 ? 'y' : 'ies'} hashed first` : ''),
        );
      });
    });
  return memory;
}

/** The search by meaning the flags ask for. */
function searchOptions(flags: {
  mode: 'text' | 'vector' | 'hybrid';
  limit: number;
  user?: string;
  agent?: string;
  session?: string;
  type?: string[];
  asOf?: Date;
  allVersions?: boolean;
}): MemorySearchOptions {
  return {
    mode: flags.mode,
    k: flags.limit,
    scope: scopeFlags(flags),
    ...(flags.type ? { types: flags.type as MemorySearchOptions['types'] } : {}),
    ...(flags.asOf ? { asOf: flags.asOf } : {}),
    ...(flags.allVersions ? { includeSuperseded: true } : {}),
  };
}

function printSearch(result: RecallOutcome<MemoryHit>, json: boolean | undefined): void {
  if (json) {
    out.json(result);
    return;
  }
  if (result.degraded) out.note('agentmem: the query could not be embedded; these hits are from full text only');
  if (!result.hits.length) {
    out.line('no memories found');
    return;
  }
  out.line(
    table(
      result.hits.map((h) => ({
        id: h.memory.id,
        type: h.memory.type,
        score: h.score.toFixed(4),
        why: matchedBy(h),
        content: JSON.stringify(h.memory.content).slice(0, 80),
      })),
      ['id', 'type', 'score', 'why', 'content'],
    ),
  );
}
