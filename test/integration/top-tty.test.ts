/**
 * `agentmem top` on a real terminal (tmux, 80×24, NO_COLOR) against three
 * providers, one of them SIGSTOPped while it runs: the frame is redrawn in
 * place, fits the screen, says which provider is down in words, and q quits.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli } from '../harness/cli.js';
import { useCluster } from '../harness/router-cluster.js';

const run = promisify(execFile);
const socket = `agentmem-top-${process.pid}`;
const tmux = (...args: string[]) => run('tmux', ['-L', socket, ...args], { env: { ...process.env, TERM: 'xterm-256color' } });
const cluster = useCluster(3, { migrate: true });
let cwd: string;

beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), 'agentmem-top-'));
  writeFileSync(
    join(cwd, 'agentmem.config.json'),
    JSON.stringify({ providers: cluster.servers.map((s) => ({ name: s.name, url: s.url(), timeouts: { connectMs: 1000 } })) }),
  );
});
afterAll(async () => {
  await tmux('kill-server').catch(() => undefined);
});

/** The screen until `done` holds for it (or 60 s). */
async function screenWhen(done: (text: string) => boolean, what: string): Promise<string> {
  let text = '';
  for (let waited = 0; waited < 60_000; waited += 250) {
    text = (await tmux('capture-pane', '-p', '-t', 'top')).stdout;
    if (done(text)) return text;
    await sleep(250);
  }
  throw new Error(`${what}: not on the screen within 60 s:\n${text}`);
}

const row = (text: string, name: string) => text.split('\n').find((line) => line.startsWith(`${name} `)) ?? '';

describe('agentmem top', () => {
  it('redraws in place at 80×24 without colour, shows a SIGSTOPped provider down, and quits on q', async () => {
    const exitFile = join(cwd, 'exit-code');
    const bin = `"${process.execPath}" "${join(ROOT, 'bin', 'agentmem.js')}"`;
    const command = `cd ${cwd} && NO_COLOR=1 ${bin} top --interval 500ms --timeout 1s; echo $? > ${exitFile}`;
    await tmux('new-session', '-d', '-s', 'top', '-x', '80', '-y', '24', command);
    const healthy = await screenWhen((t) => t.includes('HEALTHY') && /p3 +up/.test(t) && t.includes('p1→p2'), 'three providers up');
    expect(row(healthy, 'p1')).toMatch(/^p1 +up +primary +\d+\.\d ms +[▁▂▃▄▅▆▇█]+ +(closed|—) +\d+\/\d+/);
    expect(healthy).toMatch(/writes go to: p1/);
    expect(healthy).toMatch(/BACKLOG +embeddings 0 waiting +formation off/);
    expect(healthy).toMatch(/BACKUPS +no verified backup/);

    cluster.server('p2').pause();
    try {
      const degraded = await screenWhen((t) => /p2 +DOWN/.test(t), 'p2 down');
      expect(degraded).toContain('DEGRADED');
      expect(degraded).toMatch(/- p2 is down: provider "p2" did not answer/);
      // Its latency line marks the checks it did not answer.
      await screenWhen((t) => /^p2 .*×/m.test(t), 'a missed check in p2’s sparkline');
      const lines = degraded.split('\n');
      expect(lines.filter((l) => l.startsWith('agentmem top')).length).toBe(1);
      expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(80);
      expect(degraded).not.toContain('\x1b');
    } finally {
      cluster.server('p2').resume();
    }
    await screenWhen((t) => /p2 +up/.test(t), 'p2 up again');
    await tmux('send-keys', '-t', 'top', 'q');
    for (let waited = 0; !existsSync(exitFile) && waited < 15_000; waited += 100) await sleep(100);
    expect(readFileSync(exitFile, 'utf8').trim()).toBe('0');
  });

  it('--once prints one frame, plain when piped, and exits with the health code', async () => {
    const once = await runCli(['top', '--once'], { cwd });
    expect(once.code).toBe(0);
    expect(once.stdout).not.toContain('\x1b[');
    expect(once.stdout.split('\n').filter((l) => l.startsWith('agentmem top')).length).toBe(1);
    expect(once.stdout).toMatch(/^p3 +up /m);
  });
});
