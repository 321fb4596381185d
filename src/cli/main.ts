import { Command, CommanderError } from 'commander';
import { AGENTMEM_VERSION } from '../core/version.js';
import { useHumanLogs } from '../observability/logger.js';
import { alertCommand } from './alert.js';
import { atomsCommand } from './atoms.js';
import { backupCommand, restoreCommand } from './backup.js';
import { benchCommand } from './bench.js';
import { configCommand } from './config.js';
import { credentialsCommand } from './credentials.js';
import { demoCommand } from './demo.js';
import { doctorCommand } from './doctor.js';
import { embeddingsCommand } from './embeddings.js';
import { eraseCommand, erasuresCommand } from './erase.js';
import { extractCommand, workingMemoryCommand } from './formation.js';
import { healthCommand } from './health.js';
import { historyCommand } from './history.js';
import { importCommand } from './import.js';
import { memoryCommand } from './memory.js';
import { migrateCommand } from './migrate.js';
import { monitorCommand } from './monitor.js';
import { EXIT, exitCodeFor, reportError } from './output.js';
import { retentionCommand } from './retention.js';
import { schemaCommand } from './schema.js';
import { keysCommand, mcpCommand, serveCommand } from './serve.js';
import { sessionCommand } from './session.js';
import { settingsCommand } from './settings.js';
import { slaCommand } from './sla.js';
import { statusCommand } from './status.js';
import { syncCommand } from './sync.js';
import { topCommand } from './top.js';
import { verifyCommand } from './verify.js';

export const VERSION = AGENTMEM_VERSION;

export function buildProgram(): Command {
  const program = new Command('agentmem')
    .description('durable memory for AI agents, kept in PostgreSQL across several providers')
    .version(VERSION)
    .option('--config <path>', 'config file (default: ./agentmem.config.{json,ts,mjs,js} or $AGENTMEM_CONFIG)')
    .option('--tenant <id>', 'act for this tenant (default: the config tenant)')
    .option('--server <url>', 'act through a running agentmem serve (memory commands; API key in AGENTMEM_API_KEY; or AGENTMEM_SERVER)')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      '\nWith no provider configured, agentmem uses an embedded database in ./.agentmem/data.\nExit codes: 0 ok, 1 failure, 2 bad usage, invalid configuration or a package to install, 3 no provider reachable.',
    );
  for (const command of [
    demoCommand(),
    sessionCommand(),
    memoryCommand(),
    embeddingsCommand(),
    extractCommand(),
    workingMemoryCommand(),
    atomsCommand(),
    settingsCommand(),
    historyCommand(),
    retentionCommand(),
    eraseCommand(),
    erasuresCommand(),
    importCommand(),
    backupCommand(),
    restoreCommand(),
    migrateCommand(),
    schemaCommand(),
    statusCommand(),
    syncCommand(),
    verifyCommand(),
    doctorCommand(),
    healthCommand(),
    monitorCommand(),
    alertCommand(),
    topCommand(),
    benchCommand(),
    serveCommand(),
    keysCommand(),
    mcpCommand(),
    slaCommand(),
    credentialsCommand(),
    configCommand(),
  ])
    program.addCommand(command);
  // Usage errors exit 2 (not commander's default 1), in every subcommand.
  const override = (command: Command) => {
    command.exitOverride();
    for (const sub of command.commands) override(sub);
  };
  override(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const json = argv.includes('--json');
  // People read what most commands print; with --json, and from the long-running services, logs are JSON lines for a machine.
  const service = argv.slice(2).find((a) => !a.startsWith('-'));
  if (!json && service !== 'monitor' && service !== 'serve') useHumanLogs();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 || error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? EXIT.ok : EXIT.usage;
    }
    reportError(error, json);
    return exitCodeFor(error);
  }
}
