import { Command } from 'commander';
import { UsageError } from '../errors/index.js';
import type { WorkingMemoryScope } from '../memory/index.js';
import { jsonOrString, withContext, withMemory } from './context.js';
import { EXIT, out } from './output.js';

/** A working memory's scope from --user or --session (exactly one). */
function scopeOf(flags: { user?: string; session?: string }): WorkingMemoryScope {
  if (Boolean(flags.user) === Boolean(flags.session)) throw new UsageError('name one scope: --user <id> or --session <id>');
  return flags.session ? { sessionId: flags.session } : { userId: flags.user as string };
}

export function workingMemoryCommand(): Command {
  const working = new Command('working-memory').description(
    "a user's or a session's working memory: the document an agent keeps in context (memory.context() includes it) and edits",
  );
  working
    .command('get')
    .description('print the document (its template before the first update)')
    .option('--user <id>', "the user's (across their sessions)")
    .option('--session <id>', "one session's")
    .option('--json', 'print the result as JSON')
    .action(async (flags: { user?: string; session?: string; json?: boolean }, command: Command) => {
      await withMemory(command, async (m) => {
        const document = await m.workingMemory.get(scopeOf(flags));
        if (flags.json) out.json(document);
        else
          out.line(
            document.content === null
              ? '(empty)'
              : typeof document.content === 'string'
                ? document.content
                : JSON.stringify(document.content, null, 2),
          );
      });
    });
  working
    .command('update')
    .description(
      'merge a JSON object into the document (a key set to null is removed), or replace a Markdown document with a text; concurrent updates lose nothing',
    )
    .argument('<patch>', 'a JSON object to merge, or a text')
    .option('--user <id>', "the user's (across their sessions)")
    .option('--session <id>', "one session's")
    .option('--json', 'print the result as JSON')
    .action(async (patch: string, flags: { user?: string; session?: string; json?: boolean }, command: Command) => {
      const value = jsonOrString(patch);
      if (typeof value !== 'string' && (value === null || typeof value !== 'object' || Array.isArray(value)))
        throw new UsageError('the patch is a JSON object or a text');
      await withMemory(command, async (m) => {
        const document = await m.workingMemory.update(scopeOf(flags), value as string | Record<string, unknown>);
        if (flags.json) out.json(document);
        else out.line(`updated: ${document.tokens} token(s)`);
      });
    });
  return working;
}

export function extractCommand(): Command {
  const extract = new Command('extract').description(
    'memory formation: sessions whose new messages wait for extraction or a summary (runs with a model, in createMemory({ model }))',
  );
  extract
    .command('status')
    .description('how many sessions wait for extraction and for a summary on the writer, and whether formation is enabled; exit 0')
    .option('--json', 'print the result as JSON')
    .action(async (flags: { json?: boolean }, command: Command) => {
      process.exitCode = await withContext(command, async ({ config, runtime }) => {
        const memory = await runtime.memory();
        const pending = await runtime.formationWorker(memory).status();
        const { extraction, summaries } = config.formation;
        const report = { pending, extraction: { enabled: extraction.enabled }, summaries: { enabled: summaries.enabled } };
        if (flags.json) out.json(report);
        else {
          out.line(`extraction: ${extraction.enabled ? 'enabled' : 'off'}; sessions waiting: ${pending.extraction}`);
          out.line(`summaries: ${summaries.enabled ? 'enabled' : 'off'}; sessions waiting: ${pending.summary}`);
          out.line('formation runs in processes that pass a model: createMemory({ model }) with any AI SDK model');
        }
        return EXIT.ok;
      });
    });
  return extract;
}
