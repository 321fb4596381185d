import { Command } from 'commander';
import { importLegacy, type LegacyImportReport } from '../import/legacy/importer.js';
import { withMemory } from './context.js';
import { EXIT, out } from './output.js';
import { stepProgress } from './progress.js';

function printReport(r: LegacyImportReport): void {
  const line = (label: string, c: { read: number; imported: number; existing: number }, extra = '') =>
    out.line(
      `  ${label.padEnd(9)} read ${c.read}, ${r.dryRun ? 'would import' : 'imported'} ${r.dryRun ? '-' : c.imported}, already there ${r.dryRun ? '-' : c.existing}${extra}`,
    );
  out.line(`import from ${r.source}${r.dryRun ? ' (dry run: nothing written)' : ''}`);
  line('sessions', r.sessions);
  line('chats', r.conversations, ' (conversation_sessions)');
  line('messages', r.messages, `, re-appended duplicates dropped ${r.messages.duplicates}`);
  line('memories', r.memories);
  line('atoms', r.atoms, `, invalid ${r.atoms.invalid.length}`);
  line('settings', r.settings);
  for (const key of r.settings.shadowed)
    out.line(`  setting ${key}: the two legacy tables disagree; agent_factory_settings' value was kept`);
  for (const bad of r.atoms.invalid) out.line(`  invalid atom ${bad.atomId ?? '(no id)'}: ${bad.reasons.join('; ')}`);
  for (const s of r.skipped) out.line(`  skipped ${s.table}: ${s.reason}`);
}

export function importCommand(): Command {
  const command = new Command('import').description('bring data in from elsewhere');
  command
    .command('legacy')
    .description('import sessions, messages, memories, knowledge atoms and settings from the database of the system agentmem replaces')
    .requiredOption('--from <postgres-url>', 'the old database')
    .option('--dry-run', 'read and report only; write nothing')
    .option('--json', 'print the report as JSON')
    .action(async (flags, cmd: Command) => {
      process.exitCode = await withMemory(cmd, async (memory) => {
        const report = await importLegacy(memory, flags.from, { dryRun: Boolean(flags.dryRun), onProgress: stepProgress(flags) });
        if (flags.json) out.json(report);
        else printReport(report);
        const problems = report.atoms.invalid.length + report.skipped.filter((s) => s.reason !== 'not found').length;
        return problems ? EXIT.failure : EXIT.ok;
      });
    });
  return command;
}
