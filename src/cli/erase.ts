import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command } from 'commander';
import { loadSigningKey, publicKeyOf, readLedger, type SignedReport, verifyReport } from '../erasure/index.js';
import { UsageError } from '../errors/index.js';
import { eraseSubject } from '../ops/erase.js';
import { requireAllTenants } from '../schema/index.js';
import { withContext } from './context.js';
import { EXIT, out, table } from './output.js';
import { stepProgress } from './progress.js';

export function eraseCommand(): Command {
  return new Command('erase')
    .description(
      'erase a tenant, or a user or session in it, from every provider and its change history; recorded in the erasure ledger, which every restore applies again',
    )
    .option('--user <id>', 'only this user: their sessions, and memories about them or in their sessions')
    .option('--session <id>', 'only this session and its messages and memories')
    .option('--dry-run', 'count what would be erased on each provider; change nothing')
    .option('--yes', 'required to erase (not with --dry-run): an erasure cannot be undone, no backup brings it back')
    .option(
      '--report <file>',
      'where to write the signed report (default: erasures/<ledger id>.json beside erasure.signingKeyFile, ./.agentmem)',
    )
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      '\nGive the tenant with the global --tenant (required here, never the config default).\nEvery provider must be reachable; a legal hold (agentmem retention hold) covering the subject refuses it.\nThe report is signed with Ed25519 (erasure.signingKeyFile; `agentmem erasures key` prints the public key); `agentmem erasures verify FILE` checks one.',
    )
    .action(
      async (
        flags: { user?: string; session?: string; dryRun?: boolean; yes?: boolean; report?: string; json?: boolean },
        command: Command,
      ) => {
        const tenant = (command.optsWithGlobals() as { tenant?: string }).tenant;
        if (!tenant) throw new UsageError('give the tenant to erase from with --tenant');
        if (!flags.dryRun && !flags.yes)
          throw new UsageError('an erasure cannot be undone: add --yes to erase (or --dry-run to see what would go)');
        process.exitCode = await withContext(command, async ({ config, providers }) => {
          const { report, signed, keyCreated } = await eraseSubject(config, providers, {
            tenant,
            ...(flags.user ? { userId: flags.user } : {}),
            ...(flags.session ? { sessionId: flags.session } : {}),
            dryRun: Boolean(flags.dryRun),
            actor: process.env.USER ? `cli:${process.env.USER}` : 'cli',
            onProgress: stepProgress(flags),
          });
          let file: string | undefined;
          if (signed) {
            file = flags.report ?? join(dirname(config.erasure.signingKeyFile), 'erasures', `${report.ledgerId}.json`);
            mkdirSync(dirname(file), { recursive: true });
            writeFileSync(file, `${JSON.stringify(signed, null, 2)}\n`);
          }
          if (flags.json) out.json(signed ?? { report, signature: null });
          else {
            const subject =
              report.subject === 'tenant' ? `tenant ${report.tenant}` : `${report.subject} ${report.subjectId} of tenant ${report.tenant}`;
            out.line(`${report.dryRun ? 'dry run: would erase' : 'erased'} ${subject}`);
            const rows = Object.entries(report.removed).map(([provider, c]) => {
              const late = report.removedAfterSync[provider];
              return {
                provider,
                ...c,
                after_sync: late ? Object.values(late).reduce((a, b) => a + b, 0) : '',
                left: report.remaining[provider] ?? '',
              };
            });
            out.line(
              table(rows, [
                'provider',
                'sessions',
                'memories',
                'checkpoints',
                'checkpoint_blobs',
                'checkpoint_writes',
                'knowledge_atoms',
                'settings',
                'change_history',
                'after_sync',
                'left',
              ]),
            );
            if (!report.dryRun)
              out.line(
                report.verified
                  ? `verified: nothing of it left on any provider, checksums equal (ledger ${report.ledgerId})`
                  : `NOT verified: rows left or providers differ (ledger ${report.ledgerId}); run \`agentmem sync repair\` and erase again`,
              );
            if (file) out.line(`signed report: ${file}`);
            if (keyCreated)
              out.note(`made a signing key in ${config.erasure.signingKeyFile}: keep it (and its public key, \`agentmem erasures key\`)`);
          }
          return report.dryRun || report.verified ? EXIT.ok : EXIT.failure;
        });
      },
    );
}

export function erasuresCommand(): Command {
  const erasures = new Command('erasures').description('the erasure ledger, and checking signed erasure reports');
  erasures
    .command('list')
    .description('erasures recorded in the ledger (the --tenant given, or every tenant)')
    .option('--json', 'print as JSON')
    .action(async (flags: { json?: boolean }, command: Command) => {
      const tenant = (command.optsWithGlobals() as { tenant?: string }).tenant;
      await withContext(command, async ({ config, providers }) => {
        const primary = (await providers.primary()).direct();
        await requireAllTenants(primary, config.schema);
        const ledger = await readLedger(primary, config.schema, tenant);
        if (flags.json) return out.json({ erasures: ledger });
        if (!ledger.length) return out.line('no erasures recorded');
        out.line(
          table(
            ledger.map((e) => ({
              id: e.id,
              tenant: e.tenant,
              subject: e.subject === 'tenant' ? 'tenant' : `${e.subject} ${e.subjectId}`,
              erased_at: e.erasedAt,
              actor: e.actor ?? '',
              verified: (e.report as SignedReport<{ verified?: boolean }> | null)?.report?.verified ? 'yes' : 'no',
            })),
            ['id', 'tenant', 'subject', 'erased_at', 'actor', 'verified'],
          ),
        );
      });
    });
  erasures
    .command('verify')
    .description('check a signed erasure report: exit 0 when its signature holds (and it is signed by --public-key, when given)')
    .argument('<file>', 'the report (JSON)')
    .option('--public-key <file>', 'the expected signer (PEM), e.g. from `agentmem erasures key`')
    .option('--json', 'print the result as JSON')
    .action((file: string, flags: { publicKey?: string; json?: boolean }) => {
      let signed: SignedReport<unknown>;
      try {
        signed = JSON.parse(readFileSync(file, 'utf8')) as SignedReport<unknown>;
      } catch (error) {
        throw new UsageError(`cannot read ${file} as a JSON report: ${(error as Error).message}`);
      }
      const result = verifyReport(signed, flags.publicKey ? readFileSync(flags.publicKey, 'utf8') : undefined);
      if (flags.json) out.json(result);
      else out.line(result.ok ? 'signature valid' : `INVALID: ${result.reason}`);
      process.exitCode = result.ok ? EXIT.ok : EXIT.failure;
    });
  erasures
    .command('key')
    .description('print the public key that checks this deployment’s erasure reports (makes the signing key if there is none)')
    .action(async (_flags: unknown, command: Command) => {
      await withContext(command, async ({ config }) => {
        out.line(publicKeyOf(loadSigningKey(config.erasure.signingKeyFile).key).trimEnd());
      });
    });
  return erasures;
}
