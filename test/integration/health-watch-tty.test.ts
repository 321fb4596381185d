/**
 * `agentmem health --watch` on a real terminal (tmux) redraws its report in
 * place: the screen holds one report, the newest, however many checks ran.
 * Piped, it prints one report after another (no control characters).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { ROOT, startCli } from '../harness/cli.js';

const run = promisify(execFile);
const socket = `agentmem-test-${process.pid}`;
const tmux = (...args: string[]) => run('tmux', ['-L', socket, ...args], { env: { ...process.env, TERM: 'xterm-256color' } });

afterAll(async () => {
  await tmux('kill-server').catch(() => undefined);
});

it('redraws in place on a terminal: one report on the screen, the newest', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'agentmem-watch-'));
  const command = `cd ${cwd} && exec "${process.execPath}" "${join(ROOT, 'bin', 'agentmem.js')}" health --watch 300ms`;
  await tmux('new-session', '-d', '-s', 'watch', '-x', '160', '-y', '40', command);
  const screen = async () => (await tmux('capture-pane', '-p', '-t', 'watch')).stdout;
  const stamps = new Set<string>();
  for (let waited = 0; stamps.size < 3 && waited < 60_000; waited += 250) {
    await sleep(250);
    const text = await screen();
    const headers = text.split('\n').filter((line) => line.startsWith('agentmem health:'));
    expect(headers.length, text).toBeLessThanOrEqual(1);
    if (headers[0]) stamps.add(headers[0]);
  }
  // Three checks seen, each alone on the screen.
  expect(stamps.size).toBe(3);
});

it('prints one report after another when piped', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'agentmem-watch-pipe-'));
  // Until two reports are out (the first waits for a new embedded database), then stopped as a user would.
  const watching = startCli(['health', '--watch', '300ms'], { cwd });
  const reports = (stdout: string) => stdout.split('\n').filter((line) => line.startsWith('agentmem health:')).length;
  await watching.waitForStdout((stdout) => reports(stdout) >= 2, 60_000);
  const result = await watching.stop('SIGINT');
  expect(result.stdout).not.toContain('\x1b[');
  expect(reports(result.stdout)).toBeGreaterThanOrEqual(2);
});
