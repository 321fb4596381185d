import { createRequire } from 'node:module';

/**
 * agentmem's version, read from its package.json (the one place it is
 * written): recorded in backups, printed by `agentmem --version`. This file
 * is two folders below the package root both as source and as built.
 */
export const AGENTMEM_VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
