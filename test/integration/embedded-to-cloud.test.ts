import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../harness/cli.js';
import { useCluster } from '../harness/router-cluster.js';

/**
 * The README's way from a prototype to a hosted provider, as a user types it:
 * memory written on the embedded default (no config at all), `backup create`,
 * a config naming the hosted provider, `restore latest --to neon` — and the
 * same memory answers from PostgreSQL.
 */
const cluster = useCluster(1, { names: ['neon'] });

describe('from the embedded default to a hosted provider', () => {
  it('backup create on the embedded database, restore latest --to neon: sessions, memories, atoms and settings arrive intact', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'agentmem-prototype-'));
    const cli = (args: string[]) => runCli(args, { cwd, timeoutMs: 120_000 });
    const demo = await cli(['demo', '--json']);
    expect(demo.code, demo.stderr).toBe(0);
    const added = await cli(['memory', 'add', '--type', 'decision', '--content', '{"ship":"friday"}', '--json']);
    expect(added.code, added.stderr).toBe(0);
    const memoryId = JSON.parse(added.stdout).id as string;
    expect((await cli(['settings', 'set', 'agent', 'tone', '"calm"'])).code).toBe(0);
    const sessions = JSON.parse((await cli(['session', 'list', '--json'])).stdout) as { id: string }[];
    expect(sessions.length).toBeGreaterThan(0);
    const transcript = (await cli(['session', 'export', sessions[0]!.id])).stdout;

    const backup = await cli(['backup', 'create', '--json']);
    expect(backup.code, backup.stderr).toBe(0);
    const made = JSON.parse(backup.stdout) as {
      backups: { provider: string; ok: boolean; sidecar: { manifest: { source: { kind: string } } } }[];
    };
    expect(made.backups[0]).toMatchObject({ provider: 'embedded', ok: true, sidecar: { manifest: { source: { kind: 'embedded' } } } });

    writeFileSync(join(cwd, 'agentmem.config.json'), JSON.stringify({ providers: [{ name: 'neon', url: cluster.servers[0]!.url() }] }));
    const restored = await cli(['restore', 'latest', '--to', 'neon', '--json']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(JSON.parse(restored.stdout)).toMatchObject({ target: 'neon', mode: 'seed', tenant: null });

    expect((await cli(['session', 'export', sessions[0]!.id])).stdout).toBe(transcript);
    // Each session's message count (what the next append's index comes from) came along and is right.
    const neon = cluster.servers[0]!;
    expect(neon.psql('SELECT count(*) FROM agentmem.sessions WHERE message_count > 0').trim()).not.toBe('0');
    const wrong = neon.psql(
      `SELECT count(*) FROM agentmem.sessions s WHERE message_count <> (SELECT count(*) FROM agentmem.memories m
        WHERE m.tenant_id = s.tenant_id AND m.session_id = s.id AND m.deleted_at IS NULL AND m.memory_type LIKE 'message%')`,
    );
    expect(wrong.trim()).toBe('0');
    const found = JSON.parse((await cli(['memory', 'search', '--type', 'decision', '--json'])).stdout) as { id: string }[];
    expect(found.map((m) => m.id)).toContain(memoryId);
    expect((await cli(['settings', 'get', 'agent', 'tone'])).stdout.trim()).toBe('calm');
    const hits = await cli(['atoms', 'search', 'motor', '--json']);
    expect(hits.code, hits.stderr).toBe(0);
    expect(JSON.parse(hits.stdout).results?.length ?? JSON.parse(hits.stdout).length).toBeGreaterThan(0);
  }, 240_000);
});
