/**
 * Starts real PostgreSQL servers (Debian's binaries) on free loopback ports for
 * tests, each in its own temp dir, and removes them all afterwards — also when
 * a test fails or the worker exits. PostgreSQL refuses to run as root, so as
 * root the servers run as the `postgres` user.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const TEST_PASSWORD = 'Canary-pw-7f3a9e';

function findBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  const preferred = versions.includes('15') ? '15' : versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!preferred) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (apt-get install postgresql-15)');
  return join(root, preferred, 'bin');
}

export const isRoot = process.getuid?.() === 0;
let postgresIds: { uid: number; gid: number } | undefined;
function serverUser(): { uid: number; gid: number } | undefined {
  if (!isRoot) return undefined;
  if (!postgresIds) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    postgresIds = { uid, gid };
  }
  return postgresIds;
}

/** Run a PostgreSQL binary, as `postgres` when we are root. */
function runPg(binary: string, args: string[], timeoutMs = 60_000): string {
  const command = isRoot ? 'runuser' : binary;
  const argv = isRoot ? ['-u', 'postgres', '--', binary, ...args] : args;
  const result = spawnSync(command, argv, { encoding: 'utf8', timeout: timeoutMs });
  if (result.status !== 0) {
    throw new Error(`${binary} ${args.join(' ')} failed (${result.status ?? result.signal}): ${result.stderr || result.stdout}`);
  }
  return result.stdout;
}

export function giveToServerUser(path: string): void {
  const ids = serverUser();
  if (ids) execFileSync('chown', ['-R', `${ids.uid}:${ids.gid}`, path]);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function signalQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* the process is gone already */
  }
}

const live = new Set<PgServer>();
process.once('exit', () => {
  // Last resort: a worker that exits without afterAll still leaves nothing running.
  for (const server of live) server.forceCleanup();
});

export class PgServer {
  readonly binDir: string;
  private paused = false;

  constructor(
    readonly name: string,
    readonly port: number,
    readonly baseDir: string,
    /** Extra server settings (`-c name=value`), e.g. a bench's shared_buffers. */
    readonly settings: Record<string, string> = {},
  ) {
    this.binDir = findBinDir();
  }

  get dataDir(): string {
    return join(this.baseDir, 'data');
  }

  get socketDir(): string {
    return join(this.baseDir, 'run');
  }

  /** Connection URL for the superuser `postgres` (password auth over TCP). */
  url(options: { database?: string; user?: string; password?: string; host?: string; port?: number } = {}): string {
    const user = options.user ?? 'postgres';
    const password = options.password ?? TEST_PASSWORD;
    return `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${options.host ?? '127.0.0.1'}:${options.port ?? this.port}/${options.database ?? 'postgres'}`;
  }

  /** The postmaster's PID while it runs. */
  pid(): number | undefined {
    const file = join(this.dataDir, 'postmaster.pid');
    if (!existsSync(file)) return undefined;
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
    return Number.isFinite(pid) && pid > 0 ? pid : undefined;
  }

  isRunning(): boolean {
    const pid = this.pid();
    if (!pid) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  async start(): Promise<void> {
    live.add(this);
    const options = [
      `-p ${this.port}`,
      "-c listen_addresses='127.0.0.1'",
      `-c unix_socket_directories='${this.socketDir}'`,
      // fsync off is safe against SIGKILL (the OS keeps what was written); synchronous_commit
      // stays on, or an acknowledged commit could still sit in WAL buffers when a test kills the server.
      '-c fsync=off',
      '-c full_page_writes=off',
      '-c max_connections=200',
      `-c shared_buffers=${this.settings.shared_buffers ?? '32MB'}`,
      '-c log_min_messages=warning',
      ...Object.entries(this.settings)
        .filter(([name]) => name !== 'shared_buffers')
        .map(([name, value]) => `-c ${name}=${value}`),
    ].join(' ');
    // A server just SIGKILLed can leave children for a moment; retry until its shared memory is gone.
    for (let attempt = 0; ; attempt++) {
      try {
        runPg(join(this.binDir, 'pg_ctl'), [
          'start',
          '-w',
          '-t',
          '60',
          '-D',
          this.dataDir,
          '-l',
          join(this.baseDir, 'server.log'),
          '-o',
          options,
        ]);
        this.paused = false;
        return;
      } catch (error) {
        if (attempt >= 20) throw error;
        await sleep(250);
      }
    }
  }

  /** Clean shutdown (fast mode). */
  async stop(): Promise<void> {
    if (this.paused) this.signal('SIGCONT');
    if (this.isRunning()) {
      try {
        runPg(join(this.binDir, 'pg_ctl'), ['stop', '-w', '-t', '30', '-m', 'fast', '-D', this.dataDir]);
      } catch {
        this.signal('SIGKILL');
      }
    }
    await this.waitForExit();
  }

  signal(signal: NodeJS.Signals): void {
    const pid = this.pid();
    if (!pid) return;
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }

  /** SIGKILL the postmaster, as a crash or an OOM kill would. */
  async kill(): Promise<void> {
    if (this.paused) this.resume();
    this.signal('SIGKILL');
    await this.waitForExit();
  }

  /** SIGSTOP every process of the server: it accepts TCP but never answers. */
  pause(): void {
    for (const pid of this.processIds()) signalQuietly(pid, 'SIGSTOP');
    this.paused = true;
  }

  resume(): void {
    for (const pid of this.processIds()) signalQuietly(pid, 'SIGCONT');
    this.paused = false;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** The postmaster and all its children (backends, checkpointer, …). */
  processIds(): number[] {
    const pid = this.pid();
    if (!pid) return [];
    const children = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean)
      .map(Number);
    return [pid, ...children];
  }

  private async waitForExit(): Promise<void> {
    const pid = this.pid();
    for (let i = 0; i < 200 && pid; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        return;
      }
      await sleep(50);
    }
  }

  /** Synchronous teardown for process exit. */
  forceCleanup(): void {
    for (const pid of this.processIds().reverse()) {
      try {
        process.kill(pid, 'SIGCONT');
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    rmSync(this.baseDir, { recursive: true, force: true });
    live.delete(this);
  }

  async destroy(): Promise<void> {
    await this.stop().catch(() => this.signal('SIGKILL'));
    this.forceCleanup();
  }

  /** Run SQL as the superuser through psql over the unix socket (no pool involved). */
  psql(sql: string, database = 'postgres', timeoutMs = 60_000): string {
    return runPg(
      join(this.binDir, 'psql'),
      ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', this.socketDir, '-p', String(this.port), '-d', database, '-c', sql],
      timeoutMs,
    );
  }
}

/**
 * The application role docs/ops/RUNBOOK.md#roles describes: it may read and
 * write agentmem's tables and owns none of them, so row-level security applies.
 */
export function createAppRole(server: PgServer, name = 'agentmem_app'): void {
  server.psql(`CREATE ROLE ${name} LOGIN PASSWORD '${TEST_PASSWORD}';
    GRANT USAGE ON SCHEMA agentmem TO ${name};
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA agentmem TO ${name};`);
}

/** initdb once, into a directory the server user owns. */
function initTemplate(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const pwfile = join(dir, 'pwfile');
  writeFileSync(pwfile, `${TEST_PASSWORD}\n`);
  giveToServerUser(dir);
  runPg(join(findBinDir(), 'initdb'), [
    '-D',
    join(dir, 'data'),
    '-U',
    'postgres',
    '--auth-local=trust',
    '--auth-host=scram-sha-256',
    `--pwfile=${pwfile}`,
    '-E',
    'UTF8',
    '--locale=C.UTF-8',
    '--no-sync',
    '--no-instructions',
  ]);
  rmSync(pwfile);
}

export interface PgCluster {
  servers: PgServer[];
  server(name: string): PgServer;
  stop(): Promise<void>;
}

/** Start `count` servers named p1…pN (or `names`), from one initdb copied N times. */
export async function startCluster(count: number, names?: string[], settings: Record<string, string> = {}): Promise<PgCluster> {
  const root = mkdtempSync(join(tmpdir(), 'agentmem-pg-'));
  chmodSync(root, 0o755);
  const template = join(root, 'template');
  initTemplate(template);
  const servers: PgServer[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const name = names?.[i] ?? `p${i + 1}`;
      const baseDir = join(root, name);
      mkdirSync(join(baseDir, 'run'), { recursive: true });
      cpSync(join(template, 'data'), join(baseDir, 'data'), { recursive: true });
      // PostgreSQL refuses a data directory others may read, and cpSync keeps a directory's mode on
      // Node 20 but not on Node 22 (0755 there): the server would not start.
      chmodSync(join(baseDir, 'data'), 0o700);
      giveToServerUser(baseDir);
      const ids = serverUser();
      if (ids) chownSync(baseDir, ids.uid, ids.gid);
      const server = new PgServer(name, await freePort(), baseDir, settings);
      servers.push(server);
      await server.start();
    }
  } catch (error) {
    await Promise.all(servers.map((s) => s.destroy()));
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
  return {
    servers,
    server(name: string) {
      const found = servers.find((s) => s.name === name);
      if (!found) throw new Error(`no server ${name}`);
      return found;
    },
    async stop() {
      await Promise.all(servers.map((s) => s.destroy()));
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export function hasPgvector(): boolean {
  const bin = findBinDir();
  const version = bin.split('/').at(-2);
  return existsSync(`/usr/share/postgresql/${version}/extension/vector.control`);
}
