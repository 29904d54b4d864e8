import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import ms from 'ms';
import type { LogStore } from '../troubleshoot/search.js';
import { dashboardData, filterValues } from './data.js';
import { PAGE } from './page.js';

// uPlot's prebuilt browser bundle, served from node_modules: the page loads nothing from the internet.
const uplotDir = path.dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));
const asset = (file: string) => readFileSync(path.join(uplotDir, file), 'utf8');

/** `?range=15m` (or `from`/`to` ISO) to an absolute range ending now. */
function rangeOf(q: Record<string, string | undefined>): { from: string; to: string } {
  if (q.from && q.to) return { from: new Date(q.from).toISOString(), to: new Date(q.to).toISOString() };
  const span = ms((q.range ?? '15m') as ms.StringValue);
  if (typeof span !== 'number' || !(span > 0)) throw new Error(`range must be a duration such as 15m (got "${q.range}")`);
  return { from: new Date(Date.now() - span).toISOString(), to: new Date().toISOString() };
}

export function dashboardApp(store: LogStore): Hono {
  const app = new Hono();
  app.get('/', (c) => c.html(PAGE));
  // Browsers ask for one; an empty answer keeps their console free of 404s.
  app.get('/favicon.ico', (c) => c.body(null, 204));
  app.get('/assets/uPlot.iife.min.js', (c) => c.body(asset('uPlot.iife.min.js'), 200, { 'content-type': 'text/javascript' }));
  app.get('/assets/uPlot.min.css', (c) => c.body(asset('uPlot.min.css'), 200, { 'content-type': 'text/css' }));
  app.get('/api/panels', async (c) => {
    const q = c.req.query();
    return c.json(await dashboardData(store, { ...rangeOf(q), replica: q.replica || undefined, version: q.version || undefined }));
  });
  app.get('/api/filters', async (c) => c.json(await filterValues(store, rangeOf(c.req.query()))));
  app.get('/api/cluster', async (c) => {
    try {
      const h = await store.client.cluster.health({}, { requestTimeout: 3000 });
      return c.json({ status: h.status.toLowerCase(), nodes: h.number_of_nodes, data_nodes: h.number_of_data_nodes, unassigned_shards: h.unassigned_shards });
    } catch {
      return c.json({ status: 'unreachable' });
    }
  });
  app.onError((err, c) => c.json({ error: err.message }, 400));
  return app;
}

export function startDashboard(store: LogStore, port: number, host = '127.0.0.1'): Promise<{ server: ServerType; url: string }> {
  return new Promise((resolve) => {
    const server = serve({ fetch: dashboardApp(store).fetch, port, hostname: host }, (info) => resolve({ server, url: `http://${host}:${info.port}` }));
  });
}
