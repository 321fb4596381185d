import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PgProvider } from '../../src/ops/index.js';
import { runCli } from '../harness/cli.js';
import { createAppRole, giveToServerUser } from '../harness/postgres.js';
import { providerConfig } from '../harness/providers.js';
import { useCluster } from '../harness/router-cluster.js';

/**
 * TLS and credentials on a real server with real certificates, made here by
 * openssl: a CA, a server certificate for localhost/127.0.0.1, and a second
 * CA that did not sign it.
 */
const cluster = useCluster(1, { migrate: true });
let dir: string;
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'agentmem-tls-'));
  chmodSync(dir, 0o755);
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=agentmem test CA',
  );
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'other.key',
    '-out',
    'other-ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=another CA',
  );
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.crt',
    '-days',
    '2',
    '-extfile',
    'ext.cnf',
  );
  chmodSync(join(dir, 'server.key'), 0o600);
  giveToServerUser(dir);
  const server = cluster.servers[0]!;
  server.psql(`ALTER SYSTEM SET ssl = on`);
  server.psql(`ALTER SYSTEM SET ssl_cert_file = '${join(dir, 'server.crt')}'`);
  server.psql(`ALTER SYSTEM SET ssl_key_file = '${join(dir, 'server.key')}'`);
  server.psql('SELECT pg_reload_conf()');
  createAppRole(server);
});

const server = () => cluster.servers[0]!;
const withParams = (url: string, params: string) => `${url}?${params}`;

function configIn(providers: object[]): string {
  const cwd = mkdtempSync(join(tmpdir(), 'agentmem-tls-cfg-'));
  writeFileSync(join(cwd, 'agentmem.config.json'), JSON.stringify({ providers }), { mode: 0o600 });
  return cwd;
}

async function canConnect(url: string): Promise<true | string> {
  const provider = new PgProvider(providerConfig(server(), { url }));
  try {
    await provider.query('SELECT 1');
    return true;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await provider.close();
  }
}

describe('TLS', () => {
  it('verify-full with the CA connects, and verify reports the real handshake: protocol, verified certificate', async () => {
    const url = withParams(server().url({ host: 'localhost' }), `sslmode=verify-full&sslrootcert=${join(dir, 'ca.pem')}`);
    expect(await canConnect(url)).toBe(true);
    const result = await runCli(['verify', '--json'], { cwd: configIn([{ name: 'p1', url }]) });
    const tls = JSON.parse(result.stdout).checks.find((c: { check: string }) => c.check === 'tls:p1');
    expect(tls.status).toBe('PASS');
    expect(tls.detail).toMatch(/TLSv1\.[23] .* server certificate localhost .* verified \(sslmode verify-full\)/);
  });

  it('a certificate it cannot verify fails with an error that names sslrootcert; an unreadable CA file is named too', async () => {
    const noCa = await canConnect(withParams(server().url({ host: 'localhost' }), 'sslmode=verify-full'));
    expect(noCa).toMatch(/could not be verified .*sslrootcert=/);
    const wrongCa = await canConnect(
      withParams(server().url({ host: 'localhost' }), `sslmode=verify-full&sslrootcert=${join(dir, 'other-ca.pem')}`),
    );
    expect(wrongCa).toMatch(/could not be verified .*sslrootcert=/);
    const missing = await canConnect(withParams(server().url(), 'sslmode=verify-full&sslrootcert=/nonexistent/ca.pem'));
    expect(missing).toMatch(/CA file named by sslrootcert cannot be read/);
    const result = await runCli(['verify', '--json'], {
      cwd: configIn([{ name: 'p1', url: withParams(server().url({ host: 'localhost' }), 'sslmode=verify-full') }]),
    });
    expect(result.code).toBe(1);
    const checks = JSON.parse(result.stdout).checks as { check: string; status: string; detail: string }[];
    expect(checks.find((c) => c.check === 'tls:p1')).toMatchObject({ status: 'FAIL', detail: expect.stringMatching(/sslrootcert/) });
  });

  it('an encrypted but unverified connection is reported as such, from the handshake rather than the URL', async () => {
    const url = withParams(server().url(), 'uselibpqcompat=true&sslmode=require');
    const result = await runCli(['verify', '--json'], { cwd: configIn([{ name: 'p1', url }]) });
    const tls = JSON.parse(result.stdout).checks.find((c: { check: string }) => c.check === 'tls:p1');
    expect(tls.status).toBe('WARN');
    expect(tls.detail).toMatch(/TLSv1\.[23] .* not verified/);
  });
});

describe('agentmem credentials rotate', () => {
  it('rotates between two login roles with no downtime: the new URL is verified and written back; the old one works until the next rotation', async () => {
    const appUrl = server().url({ user: 'agentmem_app' });
    const cwd = configIn([{ name: 'p1', url: appUrl, directUrl: server().url() }]);
    const file = join(cwd, 'agentmem.config.json');
    const first = await runCli(['credentials', 'rotate', '--provider', 'p1'], { cwd });
    expect(first.code, first.stderr).toBe(0);
    const rotated = JSON.parse(readFileSync(file, 'utf8')).providers[0].url as string;
    const newPassword = decodeURIComponent(new URL(rotated).password);
    expect(new URL(rotated).username).toBe('agentmem_app_b');
    expect(first.stdout + first.stderr).not.toContain(newPassword);
    expect(first.stdout).toContain('wrote the new URL');
    // Both work now: processes restart one by one.
    expect(await canConnect(appUrl)).toBe(true);
    expect(await canConnect(rotated)).toBe(true);
    // The new role has the application's rights: the memory API works through it.
    const memory = await runCli(['memory', 'add', '--type', 'decision', '--content', 'rotated'], { cwd });
    expect(memory.code, memory.stderr).toBe(0);

    const second = await runCli(['credentials', 'rotate', '--provider', 'p1'], { cwd });
    expect(second.code, second.stderr).toBe(0);
    const back = JSON.parse(readFileSync(file, 'utf8')).providers[0].url as string;
    expect(new URL(back).username).toBe('agentmem_app');
    expect(await canConnect(back)).toBe(true);
    expect(await canConnect(appUrl)).toMatch(/password authentication failed/);
    expect(await canConnect(rotated)).toBe(true);
  });

  it('a URL from the environment is printed once for a secret manager, and nowhere else', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'agentmem-rotate-env-'));
    server().psql("ALTER ROLE agentmem_app_b PASSWORD 'Canary-env-rotate-1'");
    const result = await runCli(['credentials', 'rotate', '--provider', 'p1'], {
      cwd,
      env: {
        AGENTMEM_PROVIDER_P1_URL: server().url({ user: 'agentmem_app_b', password: 'Canary-env-rotate-1' }),
        AGENTMEM_PROVIDER_P1_DIRECT_URL: server().url(),
      },
    });
    expect(result.code, result.stderr).toBe(0);
    const printed = result.stdout.trim().split('\n').at(-1) as string;
    const password = decodeURIComponent(new URL(printed).password);
    expect(new URL(printed).username).toBe('agentmem_app');
    expect(await canConnect(printed)).toBe(true);
    expect(result.stdout.split(password).length - 1).toBe(1);
    expect(result.stderr).not.toContain(password);
    expect(result.stdout + result.stderr).not.toContain('Canary-env-rotate-1');
  });
});
