import { QueryError, ValidationError } from '../../errors/index.js';
import type { Atoms } from './atoms.js';
import { type Atom, type AtomIssue, validateAtom } from './input.js';

export interface AtomImportReport {
  total: number;
  inserted: number;
  updated: number;
  unchanged: number;
  invalid: { index: number; line?: number; atomId?: string; issues: AtomIssue[] }[];
  dryRun: boolean;
}

type Entry = { index: number; line?: number; value?: unknown; parseError?: string };

/** Read `{"atoms": [...]}`, a JSON list, or JSON Lines (one atom per line). */
export function parseAtomsText(text: string): Entry[] {
  const trimmed = text.trim();
  if (!trimmed) return [];
  if (trimmed.startsWith('[') || (trimmed.startsWith('{') && !trimmed.includes('\n{'))) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      if (trimmed.startsWith('[')) throw new ValidationError(`not valid JSON: ${(error as Error).message}`);
      return parseLines(trimmed);
    }
    const list = Array.isArray(parsed) ? parsed : (parsed as { atoms?: unknown }).atoms;
    if (!Array.isArray(list)) {
      // A single JSON object on one line is JSON Lines with one atom.
      if (parsed && typeof parsed === 'object' && 'atom_id' in parsed) return [{ index: 0, line: 1, value: parsed }];
      if (parsed && typeof parsed === 'object' && 'atomId' in parsed) return [{ index: 0, line: 1, value: parsed }];
      throw new ValidationError('expected a list of atoms, {"atoms": [...]}, or JSON Lines');
    }
    return list.map((value, index) => ({ index, value }));
  }
  return parseLines(trimmed);
}

function parseLines(text: string): Entry[] {
  const entries: Entry[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    const index = entries.length;
    try {
      entries.push({ index, line: i + 1, value: JSON.parse(line) });
    } catch (error) {
      entries.push({ index, line: i + 1, parseError: (error as Error).message });
    }
  });
  return entries;
}

/**
 * Validate parsed entries one by one: what `atoms validate` reports and what
 * `atoms import` then writes are the same decision, atom by atom.
 */
export function validateAtomEntries(
  entries: Entry[],
  options: { maxBytes?: number; dimensions?: number; seen?: Map<string, number> } = {},
): { valid: Atom[]; invalid: AtomImportReport['invalid'] } {
  const valid: Atom[] = [];
  const invalid: AtomImportReport['invalid'] = [];
  // Atom ids met so far, with their index: shared across the batches of one streamed import.
  const seen = options.seen ?? new Map<string, number>();
  for (const entry of entries) {
    const base = { index: entry.index, ...(entry.line === undefined ? {} : { line: entry.line }) };
    if (entry.parseError) {
      invalid.push({ ...base, issues: [{ field: '(line)', message: `not valid JSON: ${entry.parseError}` }] });
      continue;
    }
    const result = validateAtom(entry.value, options);
    if (!result.ok) {
      const value = entry.value as { atom_id?: unknown; atomId?: unknown } | null;
      const atomId = value && typeof value === 'object' ? (value.atom_id ?? value.atomId) : undefined;
      invalid.push({ ...base, ...(typeof atomId === 'string' ? { atomId } : {}), issues: result.issues });
      continue;
    }
    const first = seen.get(result.atom.atomId);
    if (first !== undefined) {
      invalid.push({
        ...base,
        atomId: result.atom.atomId,
        issues: [{ field: 'atomId', message: `duplicates the atom at index ${first}` }],
      });
      continue;
    }
    seen.set(result.atom.atomId, entry.index);
    valid.push(result.atom);
  }
  return { valid, invalid };
}

/** How far an import has got: atoms read (valid or not), invalid ones, and bytes of the file read. */
export interface AtomImportProgress {
  read: number;
  invalid: number;
  bytes: number;
}

export interface AtomImportOptions {
  dryRun?: boolean;
  maxBytes?: number;
  deferIndex?: boolean;
  /** Atoms validated and upserted together (default 1,000): each batch is its own transaction. */
  batchSize?: number;
  onProgress?: (progress: AtomImportProgress) => void;
}

async function* inMemory(entries: Entry[]): AsyncGenerator<Entry & { bytes?: number }> {
  yield* entries;
}

/**
 * Validate every atom, report each invalid one with its problems, and upsert
 * the valid ones (nothing is written with `dryRun`). `source` is the file's
 * text, or its entries as they stream (streamAtomEntries): then atoms go in
 * batches of `batchSize`, each its own transaction, and an import that stops
 * half way can be run again (an upsert by atomId writes what changed).
 */
export async function importAtoms(
  atoms: Atoms,
  source: string | AsyncIterable<Entry & { bytes?: number }>,
  options: AtomImportOptions = {},
): Promise<AtomImportReport> {
  const entries = typeof source === 'string' ? inMemory(parseAtomsText(source)) : source;
  const report: AtomImportReport = { total: 0, inserted: 0, updated: 0, unchanged: 0, invalid: [], dryRun: Boolean(options.dryRun) };
  const limits = {
    maxBytes: options.maxBytes ?? atoms.maxContentBytes,
    dimensions: atoms.embeddingDimensions,
    seen: new Map<string, number>(),
  };
  const batchSize = options.batchSize ?? 1000;
  let bytes = 0;
  const flush = async (batch: Entry[]) => {
    if (!batch.length) return;
    const { valid, invalid } = validateAtomEntries(batch, limits);
    report.total += batch.length;
    report.invalid.push(...invalid);
    if (!options.dryRun && valid.length) await upsertReporting(atoms, batch, valid, report);
    options.onProgress?.({ read: report.total, invalid: report.invalid.length, bytes });
  };
  const load = async () => {
    let batch: Entry[] = [];
    for await (const entry of entries) {
      bytes = entry.bytes ?? bytes;
      batch.push(entry);
      if (batch.length >= batchSize) {
        await flush(batch);
        batch = [];
      }
    }
    await flush(batch);
  };
  if (options.deferIndex && !options.dryRun) await atoms.withVectorIndexesDeferred(load);
  else await load();
  return report;
}

/** Upsert the valid atoms; when the database refuses the batch, one at a time, so one bad atom is reported and the rest still land. */
async function upsertReporting(atoms: Atoms, entries: Entry[], valid: Atom[], report: AtomImportReport): Promise<void> {
  try {
    const counts = await atoms.upsertValid(valid);
    report.inserted += counts.inserted;
    report.updated += counts.updated;
    report.unchanged += counts.unchanged;
  } catch (error) {
    if (!(error instanceof QueryError)) throw error;
    for (const atom of valid) {
      try {
        const counts = await atoms.upsertValid([atom]);
        report.inserted += counts.inserted;
        report.updated += counts.updated;
        report.unchanged += counts.unchanged;
      } catch (single) {
        if (!(single instanceof QueryError)) throw single;
        const index = entries.findIndex(
          (e) =>
            (e.value as { atom_id?: unknown; atomId?: unknown })?.atom_id === atom.atomId ||
            (e.value as { atomId?: unknown })?.atomId === atom.atomId,
        );
        report.invalid.push({ index, atomId: atom.atomId, issues: [{ field: '(database)', message: single.message }] });
      }
    }
    report.invalid.sort((a, b) => a.index - b.index);
  }
}
