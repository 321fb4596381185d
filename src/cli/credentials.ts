import { Command } from 'commander';
import { rotateCredentials } from '../ops/credentials.js';
import { withContext } from './context.js';
import { out } from './output.js';

export function credentialsCommand(): Command {
  const command = new Command('credentials').description('database credentials of the providers');
  command
    .command('rotate')
    .description(
      "zero-downtime password rotation: a new password on the provider's other login role (USER ↔ USER_b), verified by connecting, then the new URL",
    )
    .requiredOption('--provider <name>', 'the provider whose credentials to rotate')
    .option('--json', 'print the result as JSON (without the URL unless it could not be written)')
    .addHelpText(
      'after',
      '\nThe new URL is written to the JSON config file the provider came from; otherwise (environment, code)\n' +
        'it is printed once, for your secret manager, and never logged. Processes on the old URL keep working\n' +
        'until the next rotation: restart them one by one. Needs CREATEROLE on the direct connection.',
    )
    .action(async (flags: { provider: string; json?: boolean }, cmd: Command) => {
      await withContext(cmd, async ({ config, providers }) => {
        const result = await rotateCredentials(config, providers, flags.provider);
        const shown = result.writtenTo ? {} : { url: result.url };
        if (flags.json) {
          out.json({ provider: result.provider, previousRole: result.previousRole, role: result.role, writtenTo: result.writtenTo });
          if (!result.writtenTo) out.reveal(`${result.url}\n`);
          return;
        }
        out.line(
          `${result.provider}: new password set on role ${result.role} and verified (the previous role ${result.previousRole} still works until the next rotation)`,
        );
        if (result.writtenTo) out.line(`wrote the new URL to ${result.writtenTo}; restart the agents and the monitor one by one`);
        else {
          out.line('the URL came from the environment or code: store this new URL in your secret manager (shown once):');
          out.reveal(`${shown.url}\n`);
        }
      });
    });
  return command;
}
