/**
 * The dashboard in a real headless browser: Debian's chromium, driven by
 * playwright-core (no browser download). It loads the page, logs in with an
 * admin key, sees both providers up, sees one turn down when its server is
 * stopped, searches the tenant's memory and opens a transcript. Screenshots
 * go to .tmp/artifacts/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/server/app.js';
import { ApiKeys } from '../../src/server/keys.js';
import { ROOT } from '../harness/cli.js';
import { type RoutedStore, routedStore, useCluster } from '../harness/router-cluster.js';

const ARTIFACTS = join(ROOT, '.tmp', 'artifacts');
const cluster = useCluster(2, { migrate: true });
let store: RoutedStore;
let app: FastifyInstance;
let browser: Browser;
beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  store = await routedStore(cluster, { tenant: 'dash', replication: { enabled: true } });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
  await store?.close();
  for (const server of cluster?.servers ?? []) server.resume();
});

describe('dashboard', () => {
  it('shows the providers, turns a stopped one down, and browses the tenant’s memory', async () => {
    const { memory } = store;
    const session = await memory.sessions.create({ title: 'Pump 4 vibration' });
    await memory.sessions.addMessages(session.id, [
      { role: 'user', content: 'Pump 4 is vibrating' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'read_sensor', arguments: { pump: 4 } }] },
      { role: 'tool', toolCallId: 'c1', content: '7.1 mm/s' },
      { role: 'assistant', content: 'Vibration is high: check the bearings.' },
    ]);
    await memory.memories.remember({ type: 'decision', content: { text: 'replace pump 4 bearings on friday' } });
    await memory.atoms.upsert([
      {
        atomId: 'acme:pump:bearing-wear',
        atomType: 'troubleshooting',
        title: 'Pump bearing wear',
        summary: 'Vibration above 7 mm/s on a pump means bearing wear',
        content: 'Replace the bearings; check alignment.',
        sourceDocument: 'pumps.pdf',
        sourceUrl: 'https://example.com/pumps.pdf',
      },
    ]);
    const keys = new ApiKeys(memory);
    const admin = await keys.create('dash', 'admin');
    const reader = await keys.create('dash', 'read');
    app = await buildServer({ memory, keys, config: memory.config.server, version: 'test', overviewIntervalMs: 300 });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(url);
    // A read key is not enough for the operator's view.
    await page.fill('#key', reader.key);
    await page.click('#connect');
    await page.waitForSelector('#login-error:has-text("admin")');
    await page.fill('#key', admin.key);
    await page.click('#connect');
    await page.waitForSelector('tr[data-provider="p1"][data-state="up"]');
    await page.waitForSelector('tr[data-provider="p2"][data-state="up"]');
    expect(await page.textContent('#tenant')).toBe('tenant dash');
    expect(await page.textContent('#sla-availability')).toMatch(/availability \d/);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-providers-up.png'), fullPage: true });

    cluster.server('p2').pause();
    try {
      await page.waitForSelector('tr[data-provider="p2"][data-state="down"]', { timeout: 20_000 });
      expect(await page.getAttribute('tr[data-provider="p1"]', 'data-state')).toBe('up');
      await page.waitForSelector('#events li:has-text("breaker p2 open")', { timeout: 10_000 });
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-provider-down.png'), fullPage: true });
    } finally {
      cluster.server('p2').resume();
    }

    await page.fill('#query', 'pump');
    await page.click('#search');
    await page.waitForSelector('#atoms li:has-text("acme:pump:bearing-wear")');
    await page.waitForSelector('#sessions a:has-text("Pump 4 vibration")');
    await page.fill('#query', 'friday');
    await page.click('#search');
    await page.waitForSelector('#memories li:has-text("replace pump 4 bearings on friday")');
    await page.fill('#query', '');
    await page.click('#search');
    await page.click(`a[data-session="${session.id}"]`);
    await page.waitForSelector('#transcript pre:has-text("Vibration is high")');
    expect(await page.textContent('#transcript')).toMatch(/assistant: +→ read_sensor/);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-transcript.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);
});
