import { Command, Option } from 'commander';
import { type BackupStore, backupKeyFromEnv, listBackups, restoreAsOf, restoreBackup, verifyBackup } from '../backup/index.js';
import { hint } from '../core/commands.js';
import { UsageError } from '../errors/index.js';
import { backupFreshness, backupProviders, knownErasures, openBackupStore, pruneBackups, versionFloor } from '../ops/backup.js';
import { withContext } from './context.js';
import { EXIT, out, table } from './output.js';
import { pointInTime } from './parsers.js';
import { transferProgress } from './progress.js';

const human = (bytes: number) =>
  bytes >= 1 << 30
    ? `${(bytes / (1 << 30)).toFixed(1)} GiB`
    : bytes >= 1 << 20
      ? `${(bytes / (1 << 20)).toFixed(1)} MiB`
      : `${Math.ceil(bytes / 1024)} KiB`;
const age = (seconds: number) =>
  seconds >= 86_400
    ? `${Math.floor(seconds / 86_400)}d`
    : seconds >= 3600
      ? `${Math.floor(seconds / 3600)}h`
      : `${Math.floor(seconds / 60)}m`;

export function backupCommand(): Command {
  const backup = new Command('backup').description(
    'logical backups of agentmem’s tables: create, list, verify, prune (archives are compressed; encrypted when AGENTMEM_BACKUP_KEY is set)',
  );
  backup
    .command('create')
    .description('back up from one consistent snapshot per provider (default: as config backup.providers says)')
    .option('--provider <name>', 'only this provider')
    .option('--all', 'every configured provider')
    .option('--to <destination>', 'a directory or s3://bucket/prefix (default: config backup.destination)')
    .option('--no-verify', 'do not re-read the archive after writing it')
    .option('--json', 'print the result as JSON (progress as JSON Lines on stderr)')
    .action(async (flags: { provider?: string; all?: boolean; to?: string; verify: boolean; json?: boolean }, command: Command) => {
      const tenant = (command.optsWithGlobals() as { tenant?: string }).tenant;
      process.exitCode = await withContext(command, async ({ config, providers }) => {
        const store = openBackupStore(config, flags.to);
        try {
          const runs = await backupProviders(config, providers, store, {
            selection: { provider: flags.provider, all: flags.all },
            verify: flags.verify,
            ...(tenant ? { tenant } : {}),
            onProgress: transferProgress(flags),
          });
          if (flags.json) out.json({ location: store.location, backups: runs });
          else
            for (const run of runs) {
              if (!run.ok || !run.sidecar) out.line(`${run.provider}: FAILED ${run.error ?? run.verification?.error ?? ''}`);
              else {
                const rows = run.sidecar.manifest.tables.reduce((n, t) => n + t.rows, 0);
                out.line(
                  `${run.provider}: ${run.sidecar.manifest.id}  ${rows} rows  ${human(run.sidecar.archive.bytes)}  ${run.durationMs} ms${run.verification ? '  verified' : ''}${run.sidecar.manifest.encrypted ? '  encrypted' : ''}`,
                );
              }
            }
          return runs.every((r) => r.ok) ? EXIT.ok : EXIT.failure;
        } finally {
          store.close?.();
        }
      });
    });
  backup
    .command('list')
    .description('complete backups, newest first, with age, size, rows and scope (interrupted ones are named apart)')
    .option('--from <destination>', 'a directory or s3://bucket/prefix (default: config backup.destination)')
    .option('--json', 'print the result as JSON')
    .action(async (flags: { from?: string; json?: boolean }, command: Command) => {
      await withContext(command, async ({ config }) => {
        const store = openBackupStore(config, flags.from);
        try {
          const listing = await listBackups(store);
          if (flags.json) return out.json({ ...listing, freshness: backupFreshness(config, listing) });
          if (!listing.backups.length) out.line(`no backups in ${listing.location}: run ${hint('backupCreate')}`);
          else
            out.line(
              table(
                listing.backups.map((b) => ({
                  id: b.id,
                  age: age(b.ageSeconds),
                  size: human(b.bytes),
                  rows: b.rows,
                  scope: b.tenant ?? 'all tenants',
                  schema: b.schemaVersion,
                  verified: b.verification ? (b.verification.ok ? 'yes' : 'FAILED') : 'no',
                })),
                ['id', 'age', 'size', 'rows', 'scope', 'schema', 'verified'],
              ),
            );
          if (listing.incomplete.length) out.note(`not usable (interrupted or damaged): ${listing.incomplete.join(', ')}`);
        } finally {
          store.close?.();
        }
      });
    });
  backup
    .command('verify')
    .description('re-read an archive (default: the newest) and check every hash; exit 1 when anything is wrong')
    .argument('[id]', 'backup id (default: the newest)')
    .option('--restore-test', 'also restore it into a scratch schema and compare bucket checksums with the backup’s')
    .option('--provider <name>', 'where the restore test runs (default: the primary)')
    .option('--from <destination>', 'a directory or s3://bucket/prefix (default: config backup.destination)')
    .option('--json', 'print the result as JSON')
    .action(
      async (
        id: string | undefined,
        flags: { restoreTest?: boolean; provider?: string; from?: string; json?: boolean },
        command: Command,
      ) => {
        process.exitCode = await withContext(command, async ({ config, providers }) => {
          const store = openBackupStore(config, flags.from);
          try {
            const target = id ?? (await listBackups(store)).backups[0]?.id;
            if (!target) throw new UsageError(`no backups in ${store.location} to verify`);
            const key = backupKeyFromEnv();
            const verification = await verifyBackup(store, target, {
              ...(key ? { key } : {}),
              ...(flags.restoreTest
                ? {
                    restoreTest: {
                      provider: await providers.get(providers.select({ provider: flags.provider }, 'primary')[0] as string),
                      schema: config.schema,
                      embeddingDim: config.embedder.dimensions,
                    },
                  }
                : {}),
              onProgress: transferProgress(flags),
            });
            if (flags.json) out.json(verification);
            else {
              out.line(`${target}: ${verification.ok ? 'OK' : `FAILED ${verification.error ?? ''}`}`);
              const test = verification.restoreTest;
              if (test)
                out.line(
                  `restore test on ${test.provider}: ${test.ok ? 'checksums equal' : `${test.differingBuckets} bucket(s) differ`} (${test.durationMs} ms)`,
                );
            }
            return verification.ok ? EXIT.ok : EXIT.failure;
          } finally {
            store.close?.();
          }
        });
      },
    );
  backup
    .command('prune')
    .description('apply retention (config backup.retention: 7 daily, 4 weekly, 12 monthly); the newest verified archive is always kept')
    .option('--dry-run', 'show what would be removed')
    .option('--from <destination>', 'a directory or s3://bucket/prefix (default: config backup.destination)')
    .option('--json', 'print the result as JSON')
    .action(async (flags: { dryRun?: boolean; from?: string; json?: boolean }, command: Command) => {
      await withContext(command, async ({ config }) => {
        const store = openBackupStore(config, flags.from);
        try {
          const plan = await pruneBackups(config, store, { dryRun: flags.dryRun });
          if (flags.json) return out.json({ dryRun: Boolean(flags.dryRun), ...plan });
          for (const k of plan.keep) out.line(`keep    ${k.id}  (${k.reasons.join(', ')})`);
          for (const r of plan.remove) out.line(`${flags.dryRun ? 'would remove' : 'removed'} ${r}`);
          for (const r of plan.leftovers) out.line(`${flags.dryRun ? 'would remove' : 'removed'} leftover ${r}`);
        } finally {
          store.close?.();
        }
      });
    });
  return backup;
}

export function restoreCommand(): Command {
  return new Command('restore')
    .description(
      'restore a backup into a provider, all or nothing: an empty target is seeded (versions kept), a used one rewound (the restored state wins everywhere); with --as-of, a tenant, session or record as it was then',
    )
    .argument('[id]', 'backup id, or `latest` (the newest that holds the tenant); with --as-of, chosen for you')
    .requiredOption('--to <provider>', 'the provider to restore into')
    .option(
      '--as-of <time>',
      'how it was at this time (ISO 8601, or a duration ago such as 2h): the newest backup before it plus the change history after it',
    )
    .option('--session <id>', 'with --as-of: only this session and its messages')
    .option('--record <id>', 'with --as-of: only this record (a memory, atom or setting category/key)')
    .option('--schema <name>', 'restore into this schema instead (a scratch copy to look at)')
    .addOption(
      new Option('--mode <mode>', 'seed (keep versions) or rewind (restored state wins)')
        .choices(['auto', 'seed', 'rewind'])
        .default('auto'),
    )
    .option('--dry-run', 'do all of it, report what would change, and roll back')
    .option('--from <destination>', 'a directory or s3://bucket/prefix (default: config backup.destination)')
    .option('--json', 'print the result as JSON (progress as JSON Lines on stderr)')
    .addHelpText(
      'after',
      '\nExamples:\n  agentmem restore latest --to neon\n  agentmem restore 20261125T020000Z-neon-all-3f9a --to neon\n  agentmem --tenant acme restore --as-of 2026-11-25T09:00:00Z --to neon\n  agentmem --tenant acme restore --as-of 2h --session 0192… --to neon --dry-run',
    )
    .action(
      async (
        id: string | undefined,
        flags: {
          to: string;
          asOf?: string;
          session?: string;
          record?: string;
          schema?: string;
          mode: 'auto' | 'seed' | 'rewind';
          dryRun?: boolean;
          from?: string;
          json?: boolean;
        },
        command: Command,
      ) => {
        const tenant = (command.optsWithGlobals() as { tenant?: string }).tenant;
        if (flags.asOf && id) throw new UsageError('give either a backup id or --as-of, not both');
        if (!flags.asOf && !id) throw new UsageError('give a backup id (see `agentmem backup list`) or --as-of TIME');
        if ((flags.session || flags.record) && !flags.asOf) throw new UsageError('--session and --record go with --as-of');
        if (flags.asOf && !tenant) throw new UsageError('--as-of restores one tenant: give --tenant');
        const at = flags.asOf ? pointInTime(flags.asOf) : undefined;
        process.exitCode = await withContext(command, async ({ config, providers }) => {
          const store = openBackupStore(config, flags.from);
          try {
            const provider = await providers.get(providers.select({ provider: flags.to })[0] as string);
            const key = backupKeyFromEnv();
            const common = {
              schema: config.schema,
              store,
              embeddingDim: config.embedder.dimensions,
              mode: flags.mode,
              dryRun: Boolean(flags.dryRun),
              versionFloor: await versionFloor(config, providers),
              erasures: await knownErasures(config, providers),
              ...(flags.schema ? { intoSchema: flags.schema } : {}),
              ...(key ? { key } : {}),
              onProgress: transferProgress(flags),
            };
            const chosen = id === 'latest' ? await latestBackup(store, tenant) : id;
            const report = at
              ? await restoreAsOf(provider, {
                  ...common,
                  at,
                  tenant: tenant as string,
                  historyRetentionDays: config.history.retentionDays,
                  ...(flags.session ? { session: flags.session } : {}),
                  ...(flags.record ? { record: flags.record } : {}),
                })
              : await restoreBackup(provider, chosen as string, { ...common, ...(tenant ? { tenant } : {}) });
            if (flags.json) out.json(report);
            else {
              out.line(
                `${report.dryRun ? 'dry run: would restore' : 'restored'} ${report.id} into ${report.target} (${report.schema}), ${report.tenant ? `tenant ${report.tenant}` : 'all tenants'}, mode ${report.mode}, ${report.durationMs} ms`,
              );
              out.line(table(report.tables as unknown as Record<string, unknown>[], ['table', 'restored', 'tombstoned']));
              const again = Object.entries(report.erased).filter(([, n]) => n > 0);
              if (again.length) out.line(`erased again by the erasure ledger: ${again.map(([t, n]) => `${t} ${n}`).join(', ')}`);
            }
            return EXIT.ok;
          } finally {
            store.close?.();
          }
        });
      },
    );
}

/** The newest complete backup that holds the tenant (or every tenant). */
async function latestBackup(store: BackupStore, tenant: string | undefined): Promise<string> {
  const { backups } = await listBackups(store);
  const found = backups.find((b) => b.tenant === null || b.tenant === tenant);
  if (!found)
    throw new UsageError(`no backup${tenant ? ` holding tenant ${tenant}` : ''} in ${store.location}: run ${hint('backupCreate')}`);
  return found.id;
}
