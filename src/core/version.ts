/** agentmem's version, as package.json says (recorded in backups; printed by `agentmem --version`). */
export const AGENTMEM_VERSION = '0.1.0';
