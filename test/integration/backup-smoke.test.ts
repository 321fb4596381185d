import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createBackup } from '../../src/backup/create.js';
import { readArchive, readSidecar } from '../../src/backup/read.js';
import { restoreBackup } from '../../src/backup/restore.js';
import { LocalStore } from '../../src/backup/store.js';
import { PgProvider } from '../../src/ops.js';
import { type PgCluster, startCluster } from '../harness/postgres.js';
import { providerConfig } from '../harness/providers.js';
import { migrateAll, type RoutedStore, routedStore } from '../harness/router-cluster.js';

let cluster: PgCluster;
let store: RoutedStore;
beforeAll(async () => {
  cluster = await startCluster(2);
  await migrateAll(cluster);
  store = await routedStore(cluster, { tenant: 'acme' });
});
afterAll(async () => {
  await store?.close();
  await cluster?.stop();
});

it('smoke', async () => {
  const m = store.memory;
  const s = await m.sessions.create({ agentId: 'a', title: 'one' });
  await m.sessions.addMessage(s.id, { role: 'user', content: 'hello' });
  await m.memories.remember({ type: 'decision', content: { chose: 'x' } });
  const dir = mkdtempSync(join(tmpdir(), 'bk-'));
  const backups = new LocalStore(dir);
  const p1 = new PgProvider(providerConfig(cluster.servers[0]!));
  const p2 = new PgProvider(providerConfig(cluster.servers[1]!));
  const sidecar = await createBackup(p1, { schema: 'agentmem', store: backups, key: 'a-very-long-secret-key' });
  console.log(JSON.stringify(sidecar.manifest.tables));
  const side = await readSidecar(backups, sidecar.manifest.id);
  for await (const section of readArchive(backups, side, { key: 'a-very-long-secret-key' })) {
    let n = 0;
    for await (const d of section.data) n += d.length;
    console.log(section.table, n);
  }
  await m.sessions.delete(s.id);
  expect(await m.sessions.get(s.id)).toBeNull();
  const report = await restoreBackup(p1, sidecar.manifest.id, { schema: 'agentmem', store: backups, key: 'a-very-long-secret-key', embeddingDim: 384 });
  console.log(JSON.stringify(report));
  expect((await m.sessions.get(s.id))?.title).toBe('one');
  const r2 = await restoreBackup(p2, sidecar.manifest.id, { schema: 'agentmem', store: backups, key: 'a-very-long-secret-key', embeddingDim: 384 });
  console.log(JSON.stringify(r2));
  console.log(JSON.stringify(await m.history.changes(s.id)));
  await p1.close();
  await p2.close();
});
