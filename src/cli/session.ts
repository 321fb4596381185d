import { Command, Option } from 'commander';
import { ValidationError } from '../errors/index.js';
import { contentText, EXPORT_FORMATS, type Message } from '../memory/index.js';
import { withMemory } from './context.js';
import { EXIT, matchedBy, out, table } from './output.js';
import { pointInTime, positiveInt, readInput, scopeFlags } from './parsers.js';

const positiveIntOrZero = (value: string): number => (value === '0' ? 0 : positiveInt(value));

/** An erasing command runs only with --yes; without it, it says why and exits 2. */
function confirmed(yes: boolean | undefined, what: string): boolean {
  if (yes) return true;
  out.note(`agentmem: ${what} erases the messages for good; pass --yes to go ahead`);
  process.exitCode = EXIT.usage;
  return false;
}

/** One transcript line: index, time, role, speaker, text, and tool calls or the call answered. */
function messageLine(m: Message): string {
  const who = m.name ? `${m.role} (${m.name})` : m.role;
  const calls = m.toolCalls?.length
    ? ` -> ${m.toolCalls.map((c) => `${c.name}#${c.id}(${typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments)})`).join(', ')}`
    : '';
  const answers = m.toolCallId ? `[answers ${m.toolCallId}] ` : '';
  return `  [${m.seq}] ${m.createdAt.toISOString()} ${who.padEnd(9)} ${answers}${contentText(m.content)}${calls}`;
}

export function sessionCommand(): Command {
  const session = new Command('session').description('list, show, search and export agent sessions');
  session
    .command('search')
    .description("find messages by meaning across a scope's sessions (a user's, an agent's, one session), each with the turns around it")
    .argument('<query>', 'what was said, in words')
    .addOption(new Option('--mode <mode>', 'text, vector or hybrid').choices(['text', 'vector', 'hybrid']).default('hybrid'))
    .option('--user <id>', "only this user's sessions")
    .option('--agent <id>', "only this agent's sessions")
    .option('--session <id>', 'only this session')
    .option('--around <n>', 'messages before and after each hit', (v) => positiveIntOrZero(v), 0)
    .option('--limit <n>', 'at most n hits', positiveInt, 10)
    .option('--json', 'print the result as JSON')
    .action(async (query: string, flags, command: Command) => {
      await withMemory(command, async (m) => {
        const result = await m.sessions.searchMessages(query, {
          mode: flags.mode,
          k: flags.limit,
          around: flags.around,
          scope: scopeFlags(flags),
        });
        if (flags.json) return out.json(result);
        if (result.degraded) out.note('agentmem: the query could not be embedded; these hits are from full text only');
        if (!result.hits.length) return out.line('no messages found');
        for (const hit of result.hits) {
          out.line(`session ${hit.message.sessionId}, score ${hit.score.toFixed(4)} (${matchedBy(hit)}):`);
          for (const m2 of hit.context ?? [hit.message]) out.line(`${m2.id === hit.message.id ? '>' : ' '}${messageLine(m2)}`);
        }
      });
    });
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
        for (const m of loaded.messages) out.line(messageLine(m));
        return EXIT.ok;
      });
    });
  session
    .command('export')
    .description('print a session as JSON in OpenAI, Anthropic, LangChain (stored messages) or agentmem form')
    .argument('<id>', 'session id')
    .addOption(new Option('--format <format>', 'transcript format').choices(EXPORT_FORMATS).default('agentmem'))
    .option('--as-of <time>', 'as it was at this time (ISO 8601, or a duration ago such as 2h), from the change history', pointInTime)
    .action(async (id: string, flags, command: Command) => {
      await withMemory(command, async (memory) => {
        out.json(await memory.sessions.export(id, flags.format, flags.asOf ? { asOf: flags.asOf } : {}));
      });
    });
  session
    .command('import')
    .description('bring a transcript in as a session (created when missing); importing it again adds nothing')
    .argument('<file>', 'JSON file with the transcript, or - for standard input')
    .addOption(new Option('--format <format>', 'transcript format').choices(EXPORT_FORMATS).default('agentmem'))
    .option('--session <id>', 'into this session (a UUID)')
    .option('--external-id <id>', "into the session with this external id (a framework's thread id)")
    .option('--title <title>', 'title of a session created by the import')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, flags, command: Command) => {
      let data: unknown;
      try {
        data = JSON.parse(readInput(file));
      } catch (error) {
        if (error instanceof ValidationError) throw error;
        throw new ValidationError(`${file} is not JSON: ${(error as Error).message}`);
      }
      await withMemory(command, async (memory) => {
        const into = {
          ...(flags.session ? { id: flags.session } : {}),
          ...(flags.externalId ? { externalId: flags.externalId } : {}),
          ...(flags.title ? { title: flags.title } : {}),
        };
        const result = await memory.sessions.importTranscript(flags.format, data, into);
        if (flags.json) return out.json({ sessionId: result.session.id, inserted: result.inserted, existing: result.existing });
        out.line(`session ${result.session.id}: ${result.inserted} messages imported, ${result.existing} already there`);
      });
    });
  session
    .command('clear')
    .description('remove every message of a session and keep the session (tombstones that replicate; the content is erased)')
    .argument('<id>', 'session id')
    .option('--yes', 'required: the messages cannot be brought back')
    .option('--json', 'print the result as JSON')
    .action(async (id: string, flags, command: Command) => {
      if (!confirmed(flags.yes, 'session clear')) return;
      await withMemory(command, async (memory) => {
        const removed = await memory.sessions.clearMessages(id);
        if (flags.json) return out.json({ sessionId: id, removed });
        out.line(`session ${id}: ${removed} messages removed`);
      });
    });
  session
    .command('delete')
    .description('delete a session and erase its messages (tombstones that replicate); `session restore` brings the session back, empty')
    .argument('<id>', 'session id')
    .option('--yes', 'required: the messages cannot be brought back')
    .option('--json', 'print the result as JSON')
    .action(async (id: string, flags, command: Command) => {
      if (!confirmed(flags.yes, 'session delete')) return;
      process.exitCode = await withMemory(command, async (memory) => {
        const deleted = await memory.sessions.delete(id);
        if (flags.json) out.json({ sessionId: id, deleted });
        else out.line(deleted ? `session ${id} deleted` : `agentmem: no session ${id}`);
        return deleted ? EXIT.ok : EXIT.failure;
      });
    });
  session
    .command('restore')
    .description('bring a deleted session back under its id (its messages stay erased)')
    .argument('<id>', 'session id')
    .option('--json', 'print the result as JSON')
    .action(async (id: string, flags, command: Command) => {
      await withMemory(command, async (memory) => {
        const restored = await memory.sessions.restore(id);
        if (flags.json) return out.json(restored);
        out.line(`session ${restored.id} restored`);
      });
    });
  return session;
}
