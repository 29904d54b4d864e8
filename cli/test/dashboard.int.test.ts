import type { ServerType } from '@hono/node-server';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupTemplates } from '@mlmon/contract';
import { sampleEvents } from '@mlmon/contract/testing';
import { testCluster } from '@mlmon/elasticsearch/testing';
import { DASHBOARDS } from '@mlmon/kibana';
import { panelFixtureEvents } from '@mlmon/kibana/testing';
import { writeEvents } from '@mlmon/runtime';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { startDashboard } from '../src/dashboard/server.js';
import type { ReferenceProfile } from '../src/report/report.js';
import { loadHoldout } from '../src/simulate/holdout.js';
import { REPO_ROOT, serviceEntry } from '../src/stack/paths.js';

/** The live dashboard and the model report in a real headless Chromium (Debian's package), over events indexed in the real cluster. */
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

type Box = { left: number; right: number; top: number; bottom: number };
/** What the test reads of a uPlot chart in the page (its axes' laid-out size and tick labels are uPlot's own fields). */
type Chart = {
  root: { getBoundingClientRect(): Box; closest(s: string): { getBoundingClientRect(): Box } | null };
  ctx: { font: string; measureText(t: string): { width: number } };
  axes: Array<{ _size: number; _values: string[]; font: [string]; gap: number; ticks: { size: number }; label?: string }>;
};
const points = () => page.$$eval('.panel', (els) => els.map((e) => [e.getAttribute('data-panel'), Number(e.getAttribute('data-points') ?? 0)] as const));

describe('mlmon dashboard in headless Chromium', () => {
  it('draws every panel of the Kibana dashboards with data, without console errors or requests off the machine', async () => {
    const expected = DASHBOARDS.flatMap((d) => d.panels).length;
    await expect.poll(async () => (await points()).filter(([, n]) => n > 0).length, { timeout: 20_000 }).toBe(expected);
    expect(await page.$$eval('.panel canvas', (c) => c.length)).toBeGreaterThan(10);
    expect(consoleErrors).toEqual([]);
    expect(foreignRequests).toEqual([]);
  });

  it('draws the judgments with their band shaded and their thresholds dashed', async () => {
    const drawn = (id: string) => page.$eval(`.panel[data-panel="${id}"]`, (e) => [Number(e.getAttribute('data-bands')), Number(e.getAttribute('data-thresholds'))]);
    await expect.poll(() => drawn('estimated'), { timeout: 15_000 }).toEqual([1, 2]);
    expect(await drawn('reconstruction')).toEqual([1, 2]);
    expect(await drawn('ood-rate')).toEqual([0, 1]);
    expect(await page.textContent('.panel[data-panel="estimated"]')).toContain('estimated (CBPE) - 3 SE');
  });

  it("draws a comparison over the whole range as a table of shares, as Kibana's percentage bars stack them", async () => {
    // The fixture's replica lines: each replica wrote two predictions (info), and replica-1 rejected one request (warn).
    const cells = await page.$$eval('.panel[data-panel="replica-errors"] tbody tr', (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
    expect(cells.sort()).toEqual([
      ['info', 'replica-1', '66.7%'],
      ['info', 'replica-2', '100.0%'],
      ['warn', 'replica-1', '33.3%'],
    ]);
    expect(await page.$$eval('.panel[data-panel="replica-errors"] th', (th) => th.map((t) => t.textContent))).toEqual(['level', 'replica', 'share of lines']);
  });

  it('reads at a glance: a screenshot per dashboard, every panel with data, small legends named for replicas, axis labels inside the panel, latency in ms', async () => {
    const shots = mkdtempSync(path.join(os.tmpdir(), 'mlmon-dashboard-'));
    // The sticky header would cover part of a dashboard as the screenshot scrolls.
    await page.addStyleTag({ content: 'header { position: static !important; }' });
    for (const d of DASHBOARDS) {
      const file = path.join(shots, `${d.id}.png`);
      await page.locator(`section[data-dashboard="${d.title}"]`).screenshot({ path: file });
      console.log(`screenshot of "${d.title}": ${file}`);
    }
    expect((await points()).filter(([, n]) => !(n > 0))).toEqual([]);
    // Each chart's legend (uPlot's first legend row is the time axis).
    const legends = new Map(
      await page.$$eval('.panel', (els) => els.filter((e) => e.querySelector('.u-legend')).map((e) => [e.getAttribute('data-panel')!, [...e.querySelectorAll('.u-legend tr.u-series:not(:first-child) th')].map((th) => th.textContent!.trim())] as const)),
    );
    // Two replicas in the fixture: a panel split by replica has one entry per replica and metric, nothing else more than the judgments' six lines.
    expect(legends.get('throughput')).toEqual(['replica-1', 'replica-2']);
    expect(legends.get('replica-latency')).toEqual(['replica-1 p50', 'replica-1 p99', 'replica-2 p50', 'replica-2 p99']);
    expect(legends.get('latency')).toEqual(['p50', 'p99']);
    expect(legends.get('error-rate')).toEqual(['failed']);
    expect(legends.get('retries')).toEqual(['retried requests']);
    for (const [id, labels] of legends) {
      expect(labels.length, id).toBeLessThanOrEqual(6);
      expect(labels.filter((l) => /\d+\.\d+\.\d+\.\d+:\d+/.test(l)), id).toEqual([]);
    }
    // Every chart inside its panel, and every y tick label within the axis uPlot reserved for it (a fixed width cut long ones).
    const geometry = await page.evaluate(() =>
      [...(globalThis as unknown as { mlmonCharts: Map<string, Chart> }).mlmonCharts].map(([id, u]) => {
        const panel = u.root.closest('.panel')!.getBoundingClientRect();
        const chart = u.root.getBoundingClientRect();
        const y = u.axes[1]!;
        u.ctx.font = y.font[0];
        const widest = Math.max(...y._values.map((v) => u.ctx.measureText(v).width)) / (globalThis as unknown as { devicePixelRatio: number }).devicePixelRatio;
        return { id, inside: chart.left >= panel.left && chart.right <= panel.right && chart.top >= panel.top && chart.bottom <= panel.bottom, fits: widest + y.ticks.size + y.gap <= y._size, label: y.label ?? null, ticks: y._values };
      }),
    );
    expect(geometry.length).toBeGreaterThan(10);
    expect(geometry.filter((g) => !g.inside || !g.fits)).toEqual([]);
    const latency = geometry.find((g) => g.id.endsWith('-latency') && !g.id.endsWith('replica-latency'))!;
    expect(latency.label).toBe('ms');
    expect(geometry.find((g) => g.id.endsWith('-error-rate'))!.label).toBe('%');
    // The fixture's nginx lines took 4 ms: the axis counts milliseconds, not nanoseconds.
    expect(Math.max(...latency.ticks.map(Number))).toBeLessThan(100);
    const panels = (await (await fetch(`${url}/api/panels?range=1h`)).json()) as Array<{ id: string; unit?: string; series: Array<{ name: string; points: Array<[number, number]> }> }>;
    expect(panels.find((p) => p.id === 'latency')!.series.map((s) => [s.name, s.points.map(([, v]) => v)])).toEqual([
      ['p50', [4]],
      ['p99', [4]],
    ]);
    // Of the three nginx lines one failed.
    const failed = panels.find((p) => p.id === 'error-rate')!.series[0]!.points;
    expect(failed).toHaveLength(1);
    expect(failed[0]![1]).toBeCloseTo(100 / 3, 9);
  });

  it('shows drift that arrives while it is open in the PSI panel', async () => {
    const drift = sampleEvents()['mlmon.drift'];
    await writeEvents(cluster.client, { prefix: cluster.prefix, events: [{ ...drift, mlmon: { ...drift.mlmon, drift: { ...drift.mlmon.drift, feature: 'worst_concave_points', psi: 0.9 } } }], refresh: true });
    await expect.poll(() => page.textContent('.panel[data-panel="psi-heatmap"]'), { timeout: 20_000 }).toContain('worst_concave_points');
  });

  it('filters by replica: another replica has no resource samples of replica-1, and nginx panels, which name no replica, keep their data', async () => {
    // Only replicas are offered: nginx and the other services put their own hosts in the same field.
    await expect.poll(() => page.$$eval('#replica option', (o) => o.map((x) => x.getAttribute('value')).filter(Boolean)), { timeout: 15_000 }).toEqual(['replica-1', 'replica-2']);
    await page.selectOption('#replica', 'replica-2');
    await expect.poll(() => page.textContent('.panel[data-panel="cpu"]'), { timeout: 15_000 }).not.toContain('replica-1');
    expect(await page.textContent('.panel[data-panel="cpu"]')).toContain('replica-2');
    expect(Number(await page.getAttribute('.panel[data-panel="latency"]', 'data-points'))).toBeGreaterThan(0);
    expect(consoleErrors).toEqual([]);
  });
});

describe('mlmon report, opened in headless Chromium', () => {
  const rows = loadHoldout().slice(0, 40);
  const profile = JSON.parse(readFileSync(path.join(REPO_ROOT, 'model/artifacts/reference_profile.json'), 'utf8')) as ReferenceProfile;
  const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'mlmon-report-')), 'report.html');

  beforeAll(async () => {
    const p = sampleEvents()['mlmon.prediction'];
    const predictions = rows.map((r) => ({ ...p, mlmon: { ...p.mlmon, prediction: { ...p.mlmon.prediction, id: crypto.randomUUID(), features: r.features } } }));
    expect((await writeEvents(cluster.client, { prefix: cluster.prefix, events: predictions, refresh: true })).failed).toEqual([]);
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();
    const run = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [serviceEntry('cli'), 'report', '--from', from, '--to', to, '--out', out], { env: { ...process.env, MLMON_ES_URL: cluster.url, MLMON_INDEX_PREFIX: cluster.prefix } });
      let text = '';
      child.stdout.on('data', (d) => (text += d));
      child.stderr.on('data', (d) => (text += d));
      child.on('exit', (code) => resolve({ code, out: text }));
    });
    expect(run.code, run.out).toBe(0);
  });

  it('is one file that loads without errors or other files, with quality per version and the alerts of the window', async () => {
    const html = readFileSync(out, 'utf8');
    expect(html).not.toMatch(/<(script|link)[^>]+(src|href)=/);
    const requests: string[] = [];
    const errors: string[] = [];
    const p = await browser.newPage();
    p.on('request', (r) => requests.push(r.url()));
    p.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await p.goto(pathToFileURL(out).href);
    expect(requests).toEqual([pathToFileURL(out).href]);
    expect(errors).toEqual([]);
    // Versions by their number of analyzer windows (the fixture has v2 as canary and as shadow).
    expect(await p.$$eval('#quality tr td:first-child', (tds) => tds.map((t) => t.textContent))).toEqual(['v2', 'v1']);
    expect(await p.textContent('#alerts')).toContain('alert accuracy-drop firing');
    await p.close();
  });

  it('draws the estimate against the realized accuracy and the reconstruction error over time, with the values the analyzer wrote', async () => {
    const p = await browser.newPage();
    await p.goto(pathToFileURL(out).href);
    const lines = (panel: string) =>
      p.$$eval(`#judgments [data-panel="${panel}"] polyline`, (ls) => ls.map((l) => [l.getAttribute('class'), l.getAttribute('data-series'), JSON.parse(l.getAttribute('data-values')!) as number[]]));
    // The fixture's active quality document of the 1m window (panelFixtureEvents): the estimate, its band, its thresholds and the realized accuracy.
    expect(await lines('estimated')).toEqual([
      ['value', 'estimated (CBPE)', [0.9]],
      ['band', 'estimated (CBPE) - 3 SE', [0.936]],
      ['band', 'estimated (CBPE) + 3 SE', [0.971]],
      ['threshold', 'lower threshold', [0.878]],
      ['threshold', 'upper threshold', [1]],
      ['value', 'realized', [0.95]],
    ]);
    expect((await lines('reconstruction')).map(([cls, , v]) => [cls, v])).toEqual([
      ['value', [2.47]],
      ['band', [2.17]],
      ['band', [2.77]],
      ['threshold', [2.05]],
      ['threshold', [3.04]],
    ]);
    expect(await p.$$eval('#judgments polygon.band', (b) => b.length)).toBe(2);
    await p.close();
  });

  it("counts each feature's window in the training histogram's bins (numpy's rule, counted here independently)", async () => {
    const p = await browser.newPage();
    await p.goto(pathToFileURL(out).href);
    for (const feature of ['mean_radius', 'worst_area']) {
      const edges = profile.features[feature]!.histogram.edges;
      // The fixture's other predictions carry mean_radius 17.99 (four of them: two replicas, a slow one each).
      const values = [...rows.map((r) => r.features[feature]!), ...(feature === 'mean_radius' ? [17.99, 17.99, 17.99, 17.99] : [])];
      const expected = edges.slice(0, -1).map((e, i) => values.filter((v) => v >= e && (i === edges.length - 2 ? v <= edges[i + 1]! : v < edges[i + 1]!)).length);
      const drawn = await p.$$eval(`[data-feature="${feature}"] rect.win`, (rs) => rs.map((r) => Number(r.getAttribute('data-count'))));
      expect(drawn, feature).toEqual(expected);
    }
    await p.close();
  });
});
