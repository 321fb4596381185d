import { z } from 'zod';
import { ARCHIVE_COMPRESSIONS } from '../core/enums.js';

/** What an archive holds, written into it (last frame) and beside it (`<id>.manifest.json`, written last of all). */
export const manifestSchema = z.object({
  format: z.number().int(),
  id: z.string(),
  agentmemVersion: z.string(),
  schema: z.object({
    name: z.string(),
    version: z.number().int().min(0),
    migrations: z.array(z.object({ version: z.number().int(), name: z.string(), checksum: z.string() })),
  }),
  source: z.object({ provider: z.string(), kind: z.string(), target: z.string(), serverVersion: z.string() }),
  /** The tenant backed up, or null for every tenant. */
  tenant: z.string().nullable(),
  startedAt: z.string(),
  finishedAt: z.string(),
  /** The database's time of the snapshot every table was read in. */
  snapshotAt: z.string(),
  /** Format 1 archives are always gzip. */
  compression: z.enum(ARCHIVE_COMPRESSIONS),
  encrypted: z.boolean(),
  tables: z.array(
    z.object({
      name: z.string(),
      columns: z.array(z.object({ name: z.string(), type: z.string() })),
      rows: z.number().int().min(0),
      bytes: z.number().int().min(0),
      sha256: z.string(),
    }),
  ),
  /** Per replicated table, the bucket checksums `sync verify` compares ("count:sum" per bucket), from the same snapshot. */
  checksums: z.record(z.string(), z.record(z.string(), z.string())),
});
export type Manifest = z.infer<typeof manifestSchema>;

/** The sidecar: the manifest, and the stored archive's own size and hash (checked before anything is read from it). */
export const sidecarSchema = z.object({
  manifest: manifestSchema,
  archive: z.object({ name: z.string(), bytes: z.number().int().min(0), sha256: z.string() }),
});
export type Sidecar = z.infer<typeof sidecarSchema>;

/** A verification's result, kept beside the archive (`<id>.verified.json`): prune keeps the newest verified archive. */
export const verificationSchema = z.object({
  id: z.string(),
  ok: z.boolean(),
  verifiedAt: z.string(),
  restoreTest: z.object({ ok: z.boolean(), durationMs: z.number(), provider: z.string(), differingBuckets: z.number().int() }).optional(),
  error: z.string().optional(),
});
export type Verification = z.infer<typeof verificationSchema>;

export const archiveName = (id: string): string => `${id}.amb`;
export const sidecarName = (id: string): string => `${id}.manifest.json`;
export const verificationName = (id: string): string => `${id}.verified.json`;
