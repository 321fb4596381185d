import { Command } from 'commander';
import { createEmbedder, describeEmbedder } from '../memory/index.js';
import { checkEmbeddingModel } from '../memory/recall/embedding-model.js';
import { withContext } from './context.js';
import { EXIT, out } from './output.js';
import { positiveInt } from './parsers.js';
import { countProgress } from './progress.js';

/** What the configured embedder is, said plainly (the built-in one matches words, not meaning). */
function embedderNote(kind: string): string {
  return kind === 'local'
    ? 'the built-in local embedder: it matches words and spellings, not meaning; configure a model (embedder.kind: openai, or an AI SDK model in code) for recall by meaning'
    : 'a configured embedding model';
}

export function embeddingsCommand(): Command {
  const embeddings = new Command('embeddings').description(
    'the memories and messages waiting for an embedding (recall by meaning), and the worker that embeds them',
  );
  embeddings
    .command('status')
    .description(
      'how many rows wait for an embedding on the writer, how many failed, the oldest; exit 1 when rows fail or the oldest is older than recall.backlogAlertSeconds',
    )
    .option('--json', 'print the result as JSON')
    .action(async (flags: { json?: boolean }, command: Command) => {
      process.exitCode = await withContext(command, async ({ config, runtime }) => {
        const worker = runtime.embeddingWorker();
        const status = await worker.status();
        const embedder = runtime.configuredEmbedder();
        const late = status.oldestSeconds !== null && status.oldestSeconds > config.recall.backlogAlertSeconds;
        const mismatch = await checkEmbeddingModel(await runtime.writer(), config.schema, embedder).then(
          () => null,
          (error: Error) => error.message,
        );
        const report = {
          ...status,
          mode: config.recall.embed.mode,
          types: config.recall.embed.types,
          embedder: describeEmbedder(embedder),
          alertAfterSeconds: config.recall.backlogAlertSeconds,
          mismatch,
          ok: status.failing === 0 && !late && !mismatch,
        };
        if (flags.json) out.json(report);
        else {
          out.line(`embedder: ${embedder.model} (${embedder.dimensions} dimensions), ${embedderNote(config.embedder.kind)}`);
          out.line(`mode: ${config.recall.embed.mode}; embedded types: ${config.recall.embed.types.join(', ')}`);
          out.line(
            `waiting: ${status.waiting}${status.oldestSeconds === null ? '' : ` (oldest ${status.oldestSeconds} s)`}; failing: ${status.failing}`,
          );
          if (status.lastError) out.line(`last failure: ${status.lastError}`);
          if (mismatch) out.line(`the worker is stopped: ${mismatch}`);
          if (late)
            out.line(
              `the oldest row has waited longer than ${config.recall.backlogAlertSeconds} s: is a worker running (createMemory, serve, monitor)?`,
            );
        }
        return report.ok ? EXIT.ok : EXIT.failure;
      });
    });
  embeddings
    .command('run')
    .description('embed everything that waits now, then exit (what the worker in serve and monitor does in the background)')
    .option('--json', 'print the result as JSON')
    .action(async (flags: { json?: boolean }, command: Command) => {
      process.exitCode = await withContext(command, async ({ runtime }) => {
        const worker = runtime.embeddingWorker();
        const embedded = await worker.drain();
        const status = await worker.status();
        if (flags.json) out.json({ embedded, ...status });
        else out.line(`embedded ${embedded} row(s); ${status.waiting} waiting, ${status.failing} failing`);
        return status.failing ? EXIT.failure : EXIT.ok;
      });
    });
  embeddings
    .command('reembed')
    .description(
      'embed every memory and message again with another model (resumable: a run goes on where the last stopped); searches answer from the old vectors until all are done, then one transaction switches. Configure the new model everywhere afterwards',
    )
    .option('--model <name>', 'the model (with embedder.kind openai: the endpoint and key of the config)')
    .option('--dimensions <n>', "the model's dimension (default embedder.dimensions)", positiveInt)
    .option('--stage-only', 'compute and keep the new vectors, switch on a later run')
    .option('--json', 'print the report as JSON')
    .action(async (flags: { model?: string; dimensions?: number; stageOnly?: boolean; json?: boolean }, command: Command) => {
      process.exitCode = await withContext(command, async ({ config, runtime }) => {
        const embedder = createEmbedder({
          ...config.embedder,
          ...(flags.model ? { model: flags.model } : {}),
          ...(flags.dimensions ? { dimensions: flags.dimensions } : {}),
        });
        const report = await runtime.reembed(embedder, {
          ...(flags.stageOnly ? { stageOnly: true } : {}),
          onProgress: countProgress(flags, 're-embedding'),
        });
        if (flags.json) out.json(report);
        else {
          out.line(
            `${report.model} (${report.dimensions} dimensions): ${report.total} row(s); ${report.staged} embedded now, ${report.alreadyStaged} by an earlier run`,
          );
          out.line(
            flags.stageOnly
              ? 'staged; run again without --stage-only to switch'
              : `switched ${report.switched} row(s); ${report.requeued} back to the backlog. Configure this embedder everywhere now.`,
          );
        }
        return EXIT.ok;
      });
    });
  return embeddings;
}
