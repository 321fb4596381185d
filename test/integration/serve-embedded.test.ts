/**
 * The embedded default while `agentmem serve` holds it: other commands say
 * which server holds the data directory, and act through it with --server
 * (AGENTMEM_SERVER) and an API key; after serve stops they open it directly
 * and find what was written through the server.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, startCli } from '../harness/cli.js';

describe('agentmem serve on the embedded default', () => {
  it('other commands name the server that holds the database and act through it with --server', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'agentmem-serve-embedded-'));
    const created = await runCli(['keys', 'create', '--scope', 'write', '--json'], { cwd });
    expect(created.code, created.stderr).toBe(0);
    const { key } = JSON.parse(created.stdout);
    const server = startCli(['serve', '--port', '0'], { cwd });
    try {
      const { address: url } = JSON.parse(await server.waitForLog(/agentmem API listening/, 60_000));
      expect(existsSync(join(cwd, '.agentmem', 'data.serve.json'))).toBe(true);

      const locked = await runCli(['memory', 'search'], { cwd });
      expect(locked.code).toBe(1);
      expect(locked.stderr).toContain(`held by agentmem serve at ${url}`);
      expect(locked.stderr).toContain(`--server ${url}`);

      const through = { cwd, env: { AGENTMEM_SERVER: url, AGENTMEM_API_KEY: key } };
      const added = await runCli(['memory', 'add', '--type', 'decision', '--content', '{"decision":"ship on friday"}', '--json'], through);
      expect(added.code, added.stderr).toBe(0);
      const found = await runCli(['memory', 'search', '--text', 'friday', '--json'], through);
      expect(JSON.parse(found.stdout).map((m: { content: unknown }) => m.content)).toEqual([{ decision: 'ship on friday' }]);
      expect((await runCli(['settings', 'set', 'llm', 'model', '"gpt-x"'], through)).code).toBe(0);
      expect((await runCli(['settings', 'get', 'llm', 'model'], through)).stdout).toContain('gpt-x');
      expect((await runCli(['--server', url, 'session', 'list', '--json'], { cwd, env: { AGENTMEM_API_KEY: key } })).stdout.trim()).toBe(
        '[]',
      );
      // What the API does not serve says so, with exit 2.
      const unsupported = await runCli(['session', 'clear', '01a20ebd-c85c-7410-92f4-e909b9e06e03', '--yes'], through);
      expect(unsupported.code).toBe(2);
      expect(unsupported.stderr).toMatch(/not available through --server/);
      expect((await runCli(['memory', 'search'], { cwd, env: { AGENTMEM_SERVER: url } })).stderr).toMatch(/AGENTMEM_API_KEY/);
    } finally {
      server.kill('SIGTERM');
    }
    expect((await server.exited).code).toBe(0);
    expect(existsSync(join(cwd, '.agentmem', 'data.serve.json'))).toBe(false);
    const direct = await runCli(['memory', 'search', '--text', 'friday', '--json'], { cwd });
    expect(direct.code, direct.stderr).toBe(0);
    expect(JSON.parse(direct.stdout)).toHaveLength(1);
  }, 180_000);
});
