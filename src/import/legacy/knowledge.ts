/** The legacy knowledge atoms, and the two settings tables (agent_factory_settings wins where both hold a key). */
import { type AgentMemory, validateAtom } from '../../memory/index.js';
import type { Queryable } from '../../providers/index.js';
import { table } from '../../schema/index.js';

import { type ImportProgress, type LegacyImportReport, parseJson, tableColumns, utcExpression } from './rows.js';

export async function importLegacyAtoms(
  memory: AgentMemory,
  source: Queryable,
  report: LegacyImportReport,
  dryRun: boolean,
  progress: ImportProgress = () => undefined,
): Promise<void> {
  const columns = await tableColumns(source, 'knowledge_atoms');
  if (!columns) {
    report.skipped.push({ table: 'knowledge_atoms', reason: 'not found' });
    return;
  }
  // The legacy table shares our column names: read each of our atom's data columns it has (from the
  // table registry). Not its ids (ours derive from atom_id) nor its embeddings: the legacy 1536-dimension
  // vectors came from another model, so atoms are re-embedded here. Times are read as UTC.
  const ours = table('knowledge_atoms').columns.filter(
    (c) => c.role === 'data' && !['tenant_id', 'id', 'metadata'].includes(c.name) && !c.name.startsWith('embedding'),
  );
  const wanted = ours.filter((c) => columns.has(c.name) && c.type !== 'timestamp with time zone').map((c) => c.name);
  const times = ours
    .filter((c) => columns.has(c.name) && c.type === 'timestamp with time zone')
    .map((c) => `${utcExpression(c.name, columns.get(c.name))} AS ${c.name}`);
  const { rows } = await source.query(`SELECT ${[...wanted, ...times].join(', ')} FROM knowledge_atoms ORDER BY atom_id`);
  const valid = [];
  for (const [i, row] of rows.entries()) {
    progress(i, rows.length, 'atoms checked');
    report.atoms.read++;
    const input = {
      ...row,
      citations: parseJson(row.citations) ?? [],
      quality_score: row.quality_score === null ? null : Number(row.quality_score),
    };
    const result = validateAtom(input);
    if (!result.ok) {
      report.atoms.invalid.push({ atomId: (row.atom_id as string) ?? null, reasons: result.issues.map((i) => `${i.field}: ${i.message}`) });
      continue;
    }
    valid.push(result.atom);
  }
  progress(rows.length, rows.length, 'atoms checked');
  if (dryRun || !valid.length) return;
  const result = await memory.atoms.upsertValid(valid);
  report.atoms.imported += result.inserted + result.updated;
  report.atoms.existing += result.unchanged;
}

export async function importSettings(memory: AgentMemory, source: Queryable, report: LegacyImportReport, dryRun: boolean): Promise<void> {
  // agent_factory_settings is what the replaced settings service read: where both tables hold a key, it wins.
  const found = new Map<string, { category: string; key: string; value: unknown; description: string | null }>();
  if (await tableColumns(source, 'agent_factory_settings')) {
    const { rows } = await source.query<{ category: string; key: string; value: string; description: string | null }>(
      'SELECT category, key, value, description FROM agent_factory_settings ORDER BY 1, 2',
    );
    for (const r of rows) {
      report.settings.read++;
      found.set(`${r.category}\u0000${r.key}`, { ...r, value: parseJson(r.value) });
    }
  } else report.skipped.push({ table: 'agent_factory_settings', reason: 'not found' });
  if (await tableColumns(source, 'settings')) {
    const { rows } = await source.query<{ category: string | null; key: string; value: string; description: string | null }>(
      'SELECT category, setting_key AS key, setting_value AS value, description FROM settings ORDER BY 1, 2',
    );
    for (const r of rows) {
      const category = r.category ?? 'general';
      const key = `${category}\u0000${r.key}`;
      report.settings.read++;
      const winner = found.get(key);
      if (!winner) found.set(key, { category, key: r.key, value: parseJson(r.value), description: r.description });
      else if (JSON.stringify(winner.value) !== JSON.stringify(parseJson(r.value))) {
        report.settings.shadowed.push(`${category}.${r.key}`);
      }
    }
  } else report.skipped.push({ table: 'settings', reason: 'not found' });

  for (const s of found.values()) {
    if (dryRun) continue;
    try {
      memory.settings.clearCache();
      const current = await memory.settings.get(s.category, s.key);
      if (JSON.stringify(current) === JSON.stringify(s.value)) {
        report.settings.existing++;
        continue;
      }
      await memory.settings.set(s.category, s.key, s.value, s.description ?? undefined);
      report.settings.imported++;
    } catch (error) {
      report.skipped.push({ table: 'settings', reason: `${s.category}.${s.key}: ${(error as Error).message}` });
    }
  }
}
