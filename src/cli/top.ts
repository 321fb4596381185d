import { emitKeypressEvents } from 'node:readline';
import { Command } from 'commander';
import { HEALTH_EXIT } from '../ops/health.js';
import { TopSampler } from '../ops/top-sample.js';
import { untilSignal, withContext } from './context.js';
import { EXIT } from './output.js';
import { durationOption } from './parsers.js';

/** Resolves on q, Escape or Ctrl-C from a terminal's keyboard, or on SIGINT/SIGTERM (untilSignal). */
function quitRequested(): { quit: Promise<void>; dispose(): void } {
  const signal = untilSignal();
  let pressed!: () => void;
  const keyed = new Promise<void>((resolve) => {
    pressed = resolve;
  });
  const onKey = (_: string, key: { name?: string; ctrl?: boolean } | undefined) => {
    if (key?.name === 'q' || key?.name === 'escape' || (key?.ctrl && key.name === 'c')) pressed();
  };
  const stdin = process.stdin;
  if (stdin.isTTY) {
    emitKeypressEvents(stdin);
    stdin.setRawMode(true);
    stdin.on('keypress', onKey);
    stdin.resume();
  }
  return {
    quit: Promise.race([keyed, signal.stopped.then(() => undefined)]),
    dispose() {
      if (stdin.isTTY) {
        stdin.off('keypress', onKey);
        stdin.setRawMode(false);
        stdin.pause();
      }
      signal.dispose();
    },
  };
}

export function topCommand(): Command {
  return new Command('top')
    .description(
      'a live dashboard in the terminal: providers (up, latency over the last checks, breaker, pool, writer or fenced), replication lag per link, the embedding and formation backlogs, backups (newest verified, last drill) and the SLA with its error budget; redrawn in place, q quits',
    )
    .addOption(durationOption('--interval <duration>', 'time between checks (e.g. 2s)', 2000))
    .addOption(durationOption('--timeout <duration>', 'how long a provider may take to answer a check before it counts as down', 2000))
    .option('--once', 'print one frame and exit with the health exit code (0 healthy, 1 degraded, 3 down)')
    .addHelpText(
      'after',
      '\nColour follows the terminal; NO_COLOR=1 turns it off. Not on a terminal, each frame is printed after the last.',
    )
    .action(async (flags: { interval: number; timeout: number; once?: boolean }, command: Command) => {
      process.exitCode = await withContext(
        command,
        async ({ config, providers, runtime }) => {
          // Loaded here, not with the CLI: only this command draws on a terminal.
          const [{ renderTop }, { createLogUpdate }, { default: colors }] = await Promise.all([
            import('./top-render.js'),
            import('log-update'),
            import('picocolors'),
          ]);
          const sampler = new TopSampler(config, providers, runtime, flags.timeout);
          const tty = process.stdout.isTTY === true;
          const render = (sample: Awaited<ReturnType<TopSampler['sample']>>) =>
            renderTop(sample, {
              width: tty ? process.stdout.columns : 80,
              height: tty ? process.stdout.rows : 24,
              color: tty && colors.isColorSupported,
              intervalMs: flags.interval,
              rpoHours: config.backup.rpoHours,
              rtoMinutes: config.backup.rtoMinutes,
            });
          if (flags.once) {
            const sample = await sampler.sample();
            process.stdout.write(`${render(sample)}\n`);
            return HEALTH_EXIT[sample.health.state];
          }
          const { quit, dispose } = quitRequested();
          const draw = tty ? createLogUpdate(process.stdout, { showCursor: false }) : undefined;
          let stopped = false;
          void quit.then(() => {
            stopped = true;
          });
          try {
            while (!stopped) {
              const text = render(await sampler.sample());
              if (stopped) break;
              if (draw) draw(text);
              else process.stdout.write(`${text}\n\n`);
              let timer: NodeJS.Timeout | undefined;
              await Promise.race([quit, new Promise((r) => (timer = setTimeout(r, flags.interval)))]);
              clearTimeout(timer); // q before the next frame: nothing left to wait for
            }
          } finally {
            draw?.done();
            dispose();
          }
          return EXIT.ok;
        },
        { handleSignals: false },
      );
    });
}
