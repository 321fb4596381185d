/**
 * A real PgBouncer (Debian's package) in transaction-pooling mode, with its
 * default settings otherwise — what Neon's and Supabase's pooled URLs are.
 * It refuses to run as root, so as root it runs as `postgres`, like the
 * servers. Stopped by stop(), and on process exit at the latest.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, giveToServerUser, isRoot, type PgServer, TEST_PASSWORD } from './postgres.js';

const running = new Set<PgBouncer>();
process.once('exit', () => {
  for (const bouncer of running) bouncer.signal('SIGKILL');
});

export class PgBouncer {
  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
    private readonly dir: string,
  ) {}

  get logFile(): string {
    return join(this.dir, 'pgbouncer.log');
  }

  /** Signal pgbouncer itself (as root it runs under runuser, which may not pass signals on). */
  signal(signal: NodeJS.Signals): void {
    try {
      const pid = Number(readFileSync(join(this.dir, 'pgbouncer.pid'), 'utf8').trim());
      if (pid > 0) process.kill(pid, signal);
    } catch {
      /* not running (any more) */
    }
  }

  /** Pool `server`'s `postgres` database; clients log in as any of `users` with the test password. */
  static async start(server: PgServer, users: string[] = ['postgres']): Promise<PgBouncer> {
    const dir = mkdtempSync(join(tmpdir(), 'agentmem-pgbouncer-'));
    chmodSync(dir, 0o755);
    const port = await freePort();
    const logFile = join(dir, 'pgbouncer.log');
    writeFileSync(join(dir, 'userlist.txt'), `${users.map((u) => `"${u}" "${TEST_PASSWORD}"`).join('\n')}\n`);
    writeFileSync(
      join(dir, 'pgbouncer.ini'),
      [
        '[databases]',
        `postgres = host=127.0.0.1 port=${server.port} dbname=postgres`,
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${port}`,
        'unix_socket_dir =',
        'auth_type = scram-sha-256',
        `auth_file = ${join(dir, 'userlist.txt')}`,
        'pool_mode = transaction',
        `logfile = ${logFile}`,
        `pidfile = ${join(dir, 'pgbouncer.pid')}`,
        '',
      ].join('\n'),
    );
    giveToServerUser(dir);
    const command = isRoot ? 'runuser' : 'pgbouncer';
    const args = isRoot ? ['-u', 'postgres', '--', 'pgbouncer', join(dir, 'pgbouncer.ini')] : [join(dir, 'pgbouncer.ini')];
    const child = spawn(command, args, { stdio: 'ignore' });
    const bouncer = new PgBouncer(port, child, dir);
    running.add(bouncer);
    child.once('exit', () => running.delete(bouncer));
    for (let i = 0; !(await bouncer.accepting()); i++) {
      if (i > 100 || child.exitCode !== null) throw new Error(`pgbouncer did not start (see ${logFile})`);
      await sleep(50);
    }
    return bouncer;
  }

  /** A URL through the pooler. */
  url(options: { user?: string } = {}): string {
    return `postgresql://${options.user ?? 'postgres'}:${encodeURIComponent(TEST_PASSWORD)}@127.0.0.1:${this.port}/postgres`;
  }

  private accepting(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = connect(this.port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.signal('SIGINT');
    await Promise.race([exited, sleep(5000)]);
    if (this.child.exitCode === null) {
      this.signal('SIGKILL');
      this.child.kill('SIGKILL');
    }
  }
}
