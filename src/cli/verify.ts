import { Command } from 'commander';
import { verifyDeployment } from '../ops/self-test.js';
import { withContext } from './context.js';
import { EXIT, out } from './output.js';

export function verifyCommand(): Command {
  return new Command('verify')
    .description(
      'deployment self-test: config, reachability, TLS, schema version and drift, a session round trip on every provider directly, atoms and search, replication lag, and a real failover',
    )
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nIt writes probe rows (a session, an atom) on every provider and removes them.\nEach check is PASS, WARN or FAIL. Exit codes: 0 nothing failed, 1 some check failed.',
    )
    .action(async (flags: { json?: boolean }, command: Command) => {
      process.exitCode = await withContext(command, async ({ config, providers }) => {
        const result = await verifyDeployment(config, providers);
        if (flags.json) out.json(result);
        else {
          for (const c of result.checks) out.line(`${c.status.padEnd(4)}  ${c.check.padEnd(24)} ${c.detail}`);
          out.line(`\n${result.summary.PASS} passed, ${result.summary.WARN} warning(s), ${result.summary.FAIL} failed`);
        }
        return result.ok ? EXIT.ok : EXIT.failure;
      });
    });
}
