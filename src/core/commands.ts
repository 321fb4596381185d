/**
 * The CLI commands that messages tell people to run, named once: a hint must
 * name a command that exists (test/unit/command-hints.test.ts checks each one
 * against the CLI program).
 */
export const COMMANDS = {
  migrateUp: 'agentmem migrate up',
  schemaDiff: 'agentmem schema diff',
  syncRun: 'agentmem sync run',
  syncRepair: 'agentmem sync repair',
  embeddingsStatus: 'agentmem embeddings status',
  atomsImport: 'agentmem atoms import',
  atomsReembed: 'agentmem atoms reembed',
  backupCreate: 'agentmem backup create',
  backupVerify: 'agentmem backup verify',
} as const;

/** A command as a hint inside a message: `agentmem …`. */
export const hint = (command: keyof typeof COMMANDS, args = ''): string => `\`${COMMANDS[command]}${args ? ` ${args}` : ''}\``;
