import { Command, Option } from 'commander';
import { EXPORT_FORMATS } from '../memory/index.js';
import { withMemory } from './context.js';
import { EXIT, out, table } from './output.js';
import { pointInTime, positiveInt } from './parsers.js';

export function sessionCommand(): Command {
  const session = new Command('session').description('list, show and export agent sessions');
  session
    .command('list')
    .description('sessions, newest first')
    .option('--agent <id>', 'only this agent')
    .option('--user <id>', 'only this user')
    .option('--since <time>', 'started at or after (ISO 8601)')
    .option('--until <time>', 'started before (ISO 8601)')
    .option('--active', 'only sessions that have not ended')
    .option('--limit <n>', 'at most n sessions', positiveInt, 50)
    .option('--json', 'print the result as JSON')
    .action(async (flags, command: Command) => {
      await withMemory(command, async (memory) => {
        const sessions = await memory.sessions.list({
          agentId: flags.agent,
          userId: flags.user,
          since: flags.since,
          until: flags.until,
          ...(flags.active ? { active: true } : {}),
          limit: flags.limit,
        });
        if (flags.json) return out.json(sessions);
        if (!sessions.length) return out.line('no sessions');
        out.line(
          table(
            sessions.map((s) => ({
              id: s.id,
              agent: s.agentId ?? '',
              user: s.userId ?? '',
              title: s.title ?? '',
              started: s.startedAt.toISOString(),
              ended: s.endedAt?.toISOString() ?? '',
            })),
            ['id', 'agent', 'user', 'title', 'started', 'ended'],
          ),
        );
      });
    });
  session
    .command('show')
    .description('one session and its messages')
    .argument('<id>', 'session id')
    .option('--as-of <time>', 'as it was at this time (ISO 8601, or a duration ago such as 2h), from the change history', pointInTime)
    .option('--json', 'print the result as JSON')
    .action(async (id: string, flags, command: Command) => {
      process.exitCode = await withMemory(command, async (memory) => {
        const loaded = await memory.sessions.load(id, flags.asOf ? { asOf: flags.asOf } : {});
        if (!loaded) {
          if (flags.json) out.json({ error: 'NOT_FOUND', message: `no session ${id}` });
          else out.note(`agentmem: no session ${id}`);
          return EXIT.failure;
        }
        if (flags.json) {
          out.json(loaded);
          return EXIT.ok;
        }
        const s = loaded.session;
        out.line(`session ${s.id}${s.title ? ` — ${s.title}` : ''}`);
        out.line(
          `agent ${s.agentId ?? '-'}  user ${s.userId ?? '-'}  started ${s.startedAt.toISOString()}  ${s.endedAt ? `ended ${s.endedAt.toISOString()}` : 'active'}`,
        );
        for (const m of loaded.messages) out.line(`  [${m.seq}] ${m.createdAt.toISOString()} ${m.role.padEnd(9)} ${m.content}`);
        return EXIT.ok;
      });
    });
  session
    .command('export')
    .description('print a session as JSON in OpenAI, LangChain or agentmem form')
    .argument('<id>', 'session id')
    .addOption(new Option('--format <format>', 'transcript format').choices(EXPORT_FORMATS).default('agentmem'))
    .option('--as-of <time>', 'as it was at this time (ISO 8601, or a duration ago such as 2h), from the change history', pointInTime)
    .action(async (id: string, flags, command: Command) => {
      await withMemory(command, async (memory) => {
        out.json(await memory.sessions.export(id, flags.format, flags.asOf ? { asOf: flags.asOf } : {}));
      });
    });
  return session;
}
