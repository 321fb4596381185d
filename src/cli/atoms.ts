import { createReadStream } from 'node:fs';
import { Command } from 'commander';
import { MAX_CONTENT_BYTES } from '../config/index.js';
import {
  type AtomImportReport,
  type AtomSearchResult,
  importAtoms,
  parseAtomsText,
  streamAtomEntries,
  validateAtomEntries,
} from '../memory/index.js';
import { withMemory } from './context.js';
import { EXIT, matchedBy, out } from './output.js';
import { collect, fileSize, fraction, positiveInt, readInput } from './parsers.js';
import { streamProgress } from './progress.js';

function printReport(report: AtomImportReport): void {
  const verb = report.dryRun ? 'would import' : 'imported';
  out.line(
    `${report.total} atoms read; ${verb} ${report.dryRun ? report.total - report.invalid.length : report.inserted + report.updated}` +
      (report.dryRun ? '' : ` (${report.inserted} new, ${report.updated} updated, ${report.unchanged} unchanged)`) +
      `; ${report.invalid.length} invalid`,
  );
  for (const bad of report.invalid) {
    const where = bad.line === undefined ? `#${bad.index}` : `line ${bad.line}`;
    out.line(`  ${where}${bad.atomId ? ` ${bad.atomId}` : ''}: ${bad.issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`);
  }
}

export function printSearch(result: AtomSearchResult): void {
  out.line(`mode ${result.mode}${result.vectorMethod ? `, vector search: ${result.vectorMethod}` : ''}`);
  if (!result.results.length) out.line('  no matches');
  for (const [i, hit] of result.results.entries()) {
    const ranks = matchedBy(hit);
    out.line(`  ${i + 1}. ${hit.atom.atomId.padEnd(32)} ${hit.score.toFixed(4)}  ${hit.atom.title}${ranks ? `  (${ranks})` : ''}`);
  }
}

export function atomsCommand(): Command {
  const atoms = new Command('atoms').description('import, validate and search knowledge atoms');
  atoms
    .command('import')
    .description(
      'import atoms from JSON ({"atoms": [...]} or a list) or JSON Lines, streamed in batches of 1,000 with progress on stderr; invalid atoms are reported, valid ones imported (run again after an interruption: what is there already is left as it is). ' +
        'An atom with an "embedding" (a list of numbers from the configured embedder\'s model) keeps it; the others are embedded',
    )
    .argument('<file>', 'file to read, or - for standard input')
    .option('--dry-run', 'validate and report only; write nothing')
    .option(
      '--defer-index',
      'for a very large first import: set the vector index aside and build it once at the end (several times faster; searches meanwhile are exact and slower)',
    )
    .option('--json', 'print the report as JSON')
    .action(async (file: string, flags, command: Command) => {
      // Streamed, never read whole: a file of a million atoms is read as it is imported.
      const whole = file === '-' ? undefined : fileSize(file);
      process.exitCode = await withMemory(command, async (m) => {
        if (flags.deferIndex && !flags.json && !flags.dryRun)
          out.note('the vector index is set aside during the import and built at the end');
        const progress = streamProgress(flags, flags.dryRun ? 'atoms checked' : 'atoms imported', whole);
        const report = await importAtoms(m.atoms, streamAtomEntries(file === '-' ? process.stdin : createReadStream(file)), {
          dryRun: Boolean(flags.dryRun),
          deferIndex: Boolean(flags.deferIndex),
          onProgress: ({ read, bytes }) => progress(read, bytes),
        });
        progress(report.total, whole ?? 0, true);
        if (flags.json) out.json(report);
        else printReport(report);
        return report.invalid.length ? EXIT.failure : EXIT.ok;
      });
    });
  atoms
    .command('validate')
    .description('check atoms against the schema without touching any database')
    .argument('<file>', 'file to read, or - for standard input')
    .option('--json', 'print the report as JSON')
    .action((file: string, flags) => {
      const entries = parseAtomsText(readInput(file));
      // The same decision `atoms import` makes, atom by atom.
      const { invalid } = validateAtomEntries(entries, { maxBytes: MAX_CONTENT_BYTES });
      const report = { total: entries.length, valid: entries.length - invalid.length, invalid };
      if (flags.json) out.json(report);
      else {
        out.line(`${report.total} atoms, ${report.valid} valid, ${invalid.length} invalid`);
        for (const bad of invalid) out.line(`  #${bad.index}: ${bad.issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`);
      }
      process.exitCode = invalid.length ? EXIT.failure : EXIT.ok;
    });
  atoms
    .command('search')
    .description('search atoms by text, vector or both (hybrid, the default)')
    .argument('<query>')
    .option('--mode <mode>', 'text | vector | hybrid', 'hybrid')
    .option('--limit <n>', 'at most n results', positiveInt, 10)
    .option('--type <types>', 'atom types, comma-separated or repeated', collect)
    .option('--manufacturer <name>')
    .option('--product-family <name>')
    .option('--min-quality <0..1>', 'minimum quality score', fraction)
    .option('--json', 'print the result as JSON')
    .action(async (query: string, flags, command: Command) => {
      await withMemory(command, async (m) => {
        const result = await m.atoms.search(query, {
          mode: flags.mode,
          limit: flags.limit,
          filter: {
            ...(flags.type ? { atomTypes: flags.type } : {}),
            ...(flags.manufacturer ? { manufacturer: flags.manufacturer } : {}),
            ...(flags.productFamily ? { productFamily: flags.productFamily } : {}),
            ...(flags.minQuality === undefined ? {} : { minQuality: flags.minQuality }),
          },
        });
        if (flags.json) out.json(result);
        else printSearch(result);
      });
    });
  atoms
    .command('reembed')
    .description('recompute embeddings made by another model or dimension than the configured embedder')
    .option('--json', 'print the result as JSON')
    .action(async (flags, command: Command) => {
      await withMemory(command, async (m) => {
        const count = await m.atoms.reembed((done, total) => {
          if (!flags.json) out.note(`re-embedded ${done}/${total}`);
        });
        if (flags.json) out.json({ reembedded: count });
        else out.line(`re-embedded ${count} atoms`);
      });
    });
  return atoms;
}
