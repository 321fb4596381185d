import { ValidationError } from '../errors/index.js';
import { type Atom, type AtomIssue, validateAtom } from './atom-schema.js';
import type { Atoms } from './atoms.js';

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
 * Validate every atom, report each invalid one with its problems, and upsert
 * the valid ones in one transaction (nothing is written with `dryRun`).
 */
export async function importAtoms(atoms: Atoms, text: string, options: { dryRun?: boolean } = {}): Promise<AtomImportReport> {
  const entries = parseAtomsText(text);
  const report: AtomImportReport = {
    total: entries.length,
    inserted: 0,
    updated: 0,
    unchanged: 0,
    invalid: [],
    dryRun: Boolean(options.dryRun),
  };
  const valid: Atom[] = [];
  const seen = new Map<string, number>();
  for (const entry of entries) {
    const base = { index: entry.index, ...(entry.line === undefined ? {} : { line: entry.line }) };
    if (entry.parseError) {
      report.invalid.push({ ...base, issues: [{ field: '(line)', message: `not valid JSON: ${entry.parseError}` }] });
      continue;
    }
    const result = validateAtom(entry.value);
    if (!result.ok) {
      const atomId =
        (entry.value as { atom_id?: unknown; atomId?: unknown } | null)?.atom_id ?? (entry.value as { atomId?: unknown } | null)?.atomId;
      report.invalid.push({ ...base, ...(typeof atomId === 'string' ? { atomId } : {}), issues: result.issues });
      continue;
    }
    try {
      atoms.check(result.atom);
    } catch (error) {
      report.invalid.push({ ...base, atomId: result.atom.atomId, issues: [{ field: '(atom)', message: (error as Error).message }] });
      continue;
    }
    const first = seen.get(result.atom.atomId);
    if (first !== undefined) {
      report.invalid.push({
        ...base,
        atomId: result.atom.atomId,
        issues: [{ field: 'atomId', message: `duplicates the atom at index ${first}` }],
      });
      continue;
    }
    seen.set(result.atom.atomId, entry.index);
    valid.push(result.atom);
  }
  if (!options.dryRun && valid.length) {
    const counts = await atoms.upsertValid(valid);
    Object.assign(report, counts);
  }
  return report;
}
