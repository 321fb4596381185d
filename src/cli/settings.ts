import { Command } from 'commander';
import { jsonOrString, withMemory } from './context.js';
import { EXIT, out, table } from './output.js';

export function settingsCommand(): Command {
  const settings = new Command('settings').description('read and change settings (category + key → JSON value)');
  settings
    .command('get')
    .description('print one setting (exit 1 when it is not set)')
    .argument('<category>')
    .argument('<key>')
    .option('--json', 'print the result as JSON')
    .action(async (category: string, key: string, flags, command: Command) => {
      process.exitCode = await withMemory(command, async (m) => {
        const value = await m.settings.get(category, key);
        if (flags.json) out.json({ category, key, value: value ?? null, found: value !== undefined });
        else if (value !== undefined) out.line(typeof value === 'string' ? value : JSON.stringify(value));
        else out.note(`agentmem: setting ${category}.${key} is not set`);
        return value === undefined ? EXIT.failure : EXIT.ok;
      });
    });
  settings
    .command('set')
    .description('set a setting; the value is parsed as JSON when it is JSON, else stored as text')
    .argument('<category>')
    .argument('<key>')
    .argument('<value>')
    .option('--description <text>', 'what the setting does')
    .option('--json', 'print the result as JSON')
    .action(async (category: string, key: string, value: string, flags, command: Command) => {
      await withMemory(command, async (m) => {
        const parsed = jsonOrString(value);
        await m.settings.set(category, key, parsed, flags.description);
        if (flags.json) out.json({ category, key, value: parsed });
        else out.line(`${category}.${key} = ${JSON.stringify(parsed)}`);
      });
    });
  settings
    .command('list')
    .description('every setting, or those of one category')
    .argument('[category]')
    .option('--json', 'print the result as JSON')
    .action(async (category: string | undefined, flags, command: Command) => {
      await withMemory(command, async (m) => {
        const list = await m.settings.list(category);
        if (flags.json) return out.json(list);
        if (!list.length) return out.line('no settings');
        out.line(
          table(
            list.map((s) => ({ category: s.category, key: s.key, value: JSON.stringify(s.value), description: s.description ?? '' })),
            ['category', 'key', 'value', 'description'],
          ),
        );
      });
    });
  return settings;
}
