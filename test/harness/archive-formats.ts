import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { createBackup, LocalStore, type Provider, restoreBackup, verifyBackup } from '../../src/ops/index.js';

/** An archive made by agentmem 0.1.0 before archives named their compression: format 1, gzip, one session of three memories. */
const FORMAT_ONE = join(import.meta.dirname, '../fixtures/backup-format-1');
const FORMAT_ONE_ID = '20261207T190322Z-embedded-all-c456';

/**
 * What every provider must do with archive formats: restore and drill an
 * older format-1 (gzip) archive, write brotli by default and gzip on request
 * (both read back), and refuse an archive whose header and manifest disagree
 * on how it is compressed.
 */
export async function expectArchiveFormats(source: Provider, target: Provider, dir: string, tenant?: string): Promise<void> {
  cpSync(FORMAT_ONE, join(dir, 'format-one'), { recursive: true });
  const old = new LocalStore(join(dir, 'format-one'));
  const drill = await verifyBackup(old, FORMAT_ONE_ID, { restoreTest: { provider: target, schema: 'agentmem', embeddingDim: 384 } });
  expect(drill).toMatchObject({ ok: true, restoreTest: { ok: true, differingBuckets: 0 } });
  const restored = await restoreBackup(target, FORMAT_ONE_ID, {
    schema: 'agentmem',
    intoSchema: 'format_one',
    store: old,
    embeddingDim: 384,
  });
  expect(restored.tables.find((t) => t.table === 'memories')?.restored).toBe(3);
  const { rows } = await target.query<{ content: string }>(
    "SELECT content #>> '{}' AS content FROM format_one.memories WHERE memory_type = 'decision'",
  );
  expect(rows).toEqual([{ content: 'Deploys go out on Tuesdays' }]);
  await target.exec('DROP SCHEMA format_one CASCADE');

  const store = new LocalStore(join(dir, 'formats'));
  const scope = tenant === undefined ? {} : { tenant };
  const brotli = await createBackup(source, { schema: 'agentmem', store, ...scope });
  const gzip = await createBackup(source, { schema: 'agentmem', store, compression: 'gzip', compressionLevel: 6, ...scope });
  const headerLine = (id: string) =>
    readFileSync(join(dir, 'formats', `${id}.amb`))
      .toString('latin1')
      .split('\n')
      .slice(0, 2);
  expect(headerLine(brotli.manifest.id)[0]).toBe('AGENTMEM-BACKUP 2');
  expect(JSON.parse(headerLine(brotli.manifest.id)[1] as string)).toMatchObject({ format: 2, compression: 'brotli' });
  expect(JSON.parse(headerLine(gzip.manifest.id)[1] as string)).toMatchObject({ format: 2, compression: 'gzip' });
  for (const made of [brotli, gzip]) {
    expect(made.manifest.compression).toBe(JSON.parse(headerLine(made.manifest.id)[1] as string).compression);
    expect((await verifyBackup(store, made.manifest.id)).ok).toBe(true);
  }
  await expect(createBackup(source, { schema: 'agentmem', store, compression: 'gzip', compressionLevel: 0 })).rejects.toMatchObject({
    code: 'VALIDATION',
    message: 'gzip takes a compression level from 1 to 9, not 0',
  });

  // A manifest that says gzip beside a brotli archive: refused before a byte is decompressed.
  const sidecarFile = join(dir, 'formats', `${brotli.manifest.id}.manifest.json`);
  const sidecar = JSON.parse(readFileSync(sidecarFile, 'utf8'));
  writeFileSync(sidecarFile, JSON.stringify({ ...sidecar, manifest: { ...sidecar.manifest, compression: 'gzip' } }));
  await expect(
    restoreBackup(target, brotli.manifest.id, { schema: 'agentmem', intoSchema: 'mismatch', store, embeddingDim: 384 }),
  ).rejects.toMatchObject({
    code: 'BACKUP_CORRUPT',
    message: expect.stringMatching(/its header says brotli and its manifest gzip/),
  });
}
