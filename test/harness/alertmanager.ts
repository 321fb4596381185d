/**
 * A real Prometheus Alertmanager (Debian's prometheus-alertmanager) on a free
 * loopback port, clustering off, with a short resolve_timeout. Stopped by
 * stop(), and on process exit at the latest.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './postgres.js';

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface AlertmanagerAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  updatedAt: string;
  status: { state: string; inhibitedBy?: string[] };
}

export class Alertmanager {
  private constructor(
    readonly url: string,
    private readonly child: ChildProcess,
  ) {}

  /** `config`: a whole alertmanager.yml to run with (default: one that routes to nobody). */
  static async start(options: { resolveTimeout?: string; config?: string } = {}): Promise<Alertmanager> {
    const dir = mkdtempSync(join(tmpdir(), 'agentmem-alertmanager-'));
    const port = await freePort();
    writeFileSync(
      join(dir, 'alertmanager.yml'),
      options.config ??
        [
          'global:',
          `  resolve_timeout: ${options.resolveTimeout ?? '5s'}`,
          'route:',
          '  receiver: nobody',
          '  group_wait: 1s',
          'receivers:',
          '  - name: nobody',
          '',
        ].join('\n'),
    );
    const child = spawn(
      'prometheus-alertmanager',
      [
        `--config.file=${join(dir, 'alertmanager.yml')}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
      ],
      { stdio: 'ignore' },
    );
    running.add(child);
    child.once('exit', () => running.delete(child));
    const manager = new Alertmanager(`http://127.0.0.1:${port}`, child);
    for (let i = 0; ; i++) {
      const ready = await fetch(`${manager.url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) return manager;
      if (i > 200 || child.exitCode !== null) throw new Error('alertmanager did not start');
      await sleep(50);
    }
  }

  /** Active alerts, from the API (`inhibited`: the ones an inhibition rule silences too). */
  async alerts(options: { inhibited?: boolean } = {}): Promise<AlertmanagerAlert[]> {
    const response = await fetch(`${this.url}/api/v2/alerts?active=true&silenced=false&inhibited=${options.inhibited === true}`);
    return (await response.json()) as AlertmanagerAlert[];
  }

  /** What Alertmanager's own client, amtool, lists. */
  amtool(...args: string[]): string {
    const result = spawnSync('amtool', [...args, `--alertmanager.url=${this.url}`], { encoding: 'utf8', timeout: 30_000 });
    if (result.status !== 0) throw new Error(`amtool ${args.join(' ')} failed: ${result.stderr}`);
    return result.stdout;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
