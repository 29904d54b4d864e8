import type { ServerType } from '@hono/node-server';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupTemplates } from '@mlmon/contract';
import { sampleEvents } from '@mlmon/contract/testing';
import { testCluster } from '@mlmon/es-local/testing';
import { DASHBOARDS } from '@mlmon/kibana';
import { panelFixtureEvents } from '@mlmon/kibana/testing';
import { writeEvents } from '@mlmon/runtime';
import { startDashboard } from '../src/dashboard/server.js';

/** The live dashboard in a real headless Chromium (Debian's package), over events indexed in the real cluster. */
const cluster = testCluster();
let server: ServerType;
let url: string;
let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];
const foreignRequests: string[] = [];

beforeAll(async () => {
  await setupTemplates(cluster.client, { prefix: cluster.prefix });
  const indexed = await writeEvents(cluster.client, { prefix: cluster.prefix, events: panelFixtureEvents(), refresh: true });
  expect(indexed.failed).toEqual([]);
  ({ server, url } = await startDashboard({ client: cluster.client, prefix: cluster.prefix }, 0));
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  page = await browser.newPage();
  page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  page.on('request', (r) => !r.url().startsWith(url) && foreignRequests.push(r.url()));
  await page.goto(url);
});

afterAll(async () => {
  await browser?.close();
  server?.close();
  await cluster.cleanup();
});

const points = () => page.$$eval('.panel', (els) => els.map((e) => [e.getAttribute('data-panel'), Number(e.getAttribute('data-points') ?? 0)] as const));

describe('mlmon dashboard in headless Chromium', () => {
  it('draws every panel of the Kibana dashboards with data, without console errors or requests off the machine', async () => {
    const expected = DASHBOARDS.flatMap((d) => d.panels).length;
    await expect.poll(async () => (await points()).filter(([, n]) => n > 0).length, { timeout: 20_000 }).toBe(expected);
    expect(await page.$$eval('.panel canvas', (c) => c.length)).toBeGreaterThan(10);
    expect(consoleErrors).toEqual([]);
    expect(foreignRequests).toEqual([]);
  });

  it('shows drift that arrives while it is open in the PSI panel', async () => {
    const drift = sampleEvents()['mlmon.drift'];
    await writeEvents(cluster.client, { prefix: cluster.prefix, events: [{ ...drift, mlmon: { ...drift.mlmon, drift: { ...drift.mlmon.drift, feature: 'worst_concave_points', psi: 0.9 } } }], refresh: true });
    await expect.poll(() => page.textContent('.panel[data-panel="psi-heatmap"]'), { timeout: 20_000 }).toContain('worst_concave_points');
  });

  it('filters by replica: another replica has no resource samples of replica-1', async () => {
    await expect.poll(() => page.$$eval('#replica option', (o) => o.map((x) => x.getAttribute('value'))), { timeout: 15_000 }).toContain('replica-2');
    await page.selectOption('#replica', 'replica-2');
    await expect.poll(() => page.textContent('.panel[data-panel="cpu"]'), { timeout: 15_000 }).not.toContain('replica-1');
    expect(await page.textContent('.panel[data-panel="cpu"]')).toContain('replica-2');
    expect(consoleErrors).toEqual([]);
  });
});
